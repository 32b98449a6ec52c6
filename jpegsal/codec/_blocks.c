/* The requantise-and-count loop of the libjpeg route (_transcode.c): every output block
 * requantised as _filter.c does it (_requant.h), or for chroma resampled to 4:2:0 made from
 * the input blocks it covers (_resample.c), its AC symbols counted and its DC level kept,
 * split between two threads for large images. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "_requant.h"
#include "_transcode.h"
#if !defined(_WIN32)
#include <pthread.h>
#define JSAL_THREADS
#endif

/* One worker's share of requantise_blocks: output block rows [from, to) of every component
 * (as fractions of its height), its own AC counts. */
typedef struct {
    JBLOCKROW *src[MAX_COMPONENTS], *dst[MAX_COMPONENTS]; /* block rows, gathered beforehand */
    const jsal_layout *in, *out;
    int resample, fit; /* chroma to 4:2:0; by the upsampler fit (_fit.c) */
    const jsal_kept *kept; /* the fit kept between qualities, or NULL */
    int failed;            /* a fit's buffers could not be had */
    const float *ratio; /* count x 64 */
    int count;
    const float (*step)[64], (*inverse)[64]; /* resampled chroma: old steps, 1 / new ones */
    const int *ac_table;
    JCOEF **dcs;
    long (*ac)[257]; /* NULL: requantise only */
    double from, to;
} jsal_work;

/* Output block (r, b) of resampled chroma component ci from the input blocks it covers. */
static void resample_block(const jsal_work *w, int ci, JDIMENSION r, JDIMENSION b, JCOEF *out)
{
    int fy = w->in->v[0] == 1 ? 2 : 1, fx = w->in->h[0] == 1 ? 2 : 1; /* input chroma per output */
    const JCOEF *src[2][2] = {{NULL, NULL}, {NULL, NULL}};
    for (int a = 0; a < fy; a++)
        for (int c = 0; c < fx; c++) {
            JDIMENSION y = r * (JDIMENSION)fy + (JDIMENSION)a, x = b * (JDIMENSION)fx + (JDIMENSION)c;
            if (y < w->in->height[ci] && x < w->in->width[ci])
                src[a][c] = w->src[ci][y][x];
        }
    jsal_downsample_block(src, fy, fx, w->step[ci], w->inverse[ci], out);
}

/* This worker's fit of chroma component ci: NULL where it is not fitted, or is read from
 * kept, or its few buffers cannot be had (failed). */
static jsal_fit *fit_of(jsal_work *w, int ci)
{
    const jsal_layout *in = w->in;
    if (!w->resample || !w->fit || ci == 0 || (w->kept != NULL && w->kept->ready))
        return NULL;
    long pw = ((long)in->image_width * in->h[ci] + in->max_h - 1) / in->max_h;
    long ph = ((long)in->image_height * in->v[ci] + in->max_v - 1) / in->max_v;
    jsal_fit *f = jsal_fit_new(pw, ph, (long)in->width[ci], in->v[0] == 1 ? 2 : 1,
                               in->h[0] == 1 ? 2 : 1, (long)w->out->width[ci]);
    w->failed |= f == NULL;
    return f;
}

/* Component ci's kept coefficients (Cb first, then Cr), or NULL. */
static float *kept_of(const jsal_work *w, int ci)
{
    if (w->kept == NULL || !w->resample || !w->fit || ci == 0)
        return NULL;
    size_t plane = (size_t)w->out->width[1] * w->out->height[1] * 64;
    return w->kept->values + (ci == 1 ? 0 : plane);
}

static void work(jsal_work *w)
{
    for (int ci = 0; ci < w->out->comps; ci++) {
        const float *q = ci < w->count ? w->ratio + 64 * ci : NULL;
        long *ac = w->ac ? w->ac[w->ac_table[ci]] : NULL;
        int down = w->resample && ci > 0;
        JDIMENSION width = w->out->width[ci], height = w->out->height[ci];
        JDIMENSION first = (JDIMENSION)(w->from * height), last = (JDIMENSION)(w->to * height);
        jsal_fit *fit = fit_of(w, ci);
        float *kept = kept_of(w, ci);
        if (w->failed)
            return; /* nothing more written: the caller reports it */
        for (JDIMENSION r = first; r < last; r++) {
            float *row = kept ? kept + (size_t)r * width * 64 : NULL;
            if (fit != NULL)
                jsal_fit_row(fit, w->src[ci], w->step[ci], w->inverse[ci], (long)r,
                             w->dst[ci][r], (long)width, row);
            for (JDIMENSION b = 0; b < width; b++) {
                JCOEF *coef = w->dst[ci][r][b];
                if (down && w->fit && fit == NULL) { /* kept by an earlier quality */
                    jsal_quantise_block(row + 64 * (size_t)b, w->inverse[ci], coef);
                } else if (down && !w->fit) {
                    resample_block(w, ci, r, b, coef);
                } else if (!down && q) {
                    jsal_requantise_block(coef, q);
                }
                if (ac) {
                    jsal_count_ac(coef, ac);
                    w->dcs[ci][(size_t)r * width + b] = coef[0];
                }
            }
        }
        jsal_fit_free(fit);
    }
}

#ifdef JSAL_THREADS
static void *work_thread(void *w)
{
    work((jsal_work *)w);
    return NULL;
}
#endif

/* Pointers to every block row of array (height rows, accessed step at a time as it was
 * requested). In-memory arrays (libjpeg-turbo has no backing store): the rows stay put. */
static JBLOCKROW *gather(j_decompress_ptr d, jvirt_barray_ptr array, JDIMENSION height,
                         int step)
{
    JBLOCKROW *rows = (JBLOCKROW *)(*d->mem->alloc_small)(
        (j_common_ptr)d, JPOOL_IMAGE, sizeof(JBLOCKROW) * (height + 1));
    for (JDIMENSION row = 0; row < height; row += (JDIMENSION)step) {
        JBLOCKARRAY got = (*d->mem->access_virt_barray)((j_common_ptr)d, array, row,
                                                        (JDIMENSION)step, TRUE);
        for (int r = 0; r < step && row + (JDIMENSION)r < height; r++)
            rows[row + (JDIMENSION)r] = got[r];
    }
    return rows;
}

/* Points the rows of dst (a 4:2:0 output's luma array, requested to be read two block rows
 * at a time, as libjpeg's compressor reads 2x2 luma) at the rows of src (the input's luma,
 * requested for one): the levels are not copied, and dst's own storage, never touched,
 * costs address space but no memory. The row pointers access_virt_barray hands out are
 * the array's own (libjpeg-turbo keeps every array in memory: no backing store). */
void jsal_alias_rows(j_decompress_ptr d, jvirt_barray_ptr dst, jvirt_barray_ptr src,
                     JDIMENSION height, int src_step, int dst_step)
{
    JBLOCKROW *rows = gather(d, src, height, src_step);
    for (JDIMENSION row = 0; row < height; row += (JDIMENSION)dst_step) {
        JBLOCKARRAY got = (*d->mem->access_virt_barray)((j_common_ptr)d, dst, row,
                                                        (JDIMENSION)dst_step, TRUE);
        for (int r = 0; r < dst_step && row + (JDIMENSION)r < height; r++)
            got[r] = rows[row + (JDIMENSION)r];
    }
}

/* Each resampled chroma component's old steps and the inverse of its new ones (the new
 * step is old / ratio, an integer the float32 ratio recovers by rounding). */
static void chroma_steps(j_decompress_ptr d, const float *ratio, int count, float (*step)[64],
                         float (*inverse)[64])
{
    for (int ci = 1; ci < 3; ci++) {
        const JQUANT_TBL *t = d->comp_info[ci].quant_table;
        for (int k = 0; k < 64; k++) {
            float old = (float)t->quantval[k];
            float r = ci < count ? ratio[64 * ci + k] : 1.0f;
            step[ci][k] = old;
            inverse[ci][k] = 1.0f / nearbyintf(old / r);
        }
    }
}

/* Every output block requantised by the job's ratios (or resampled, for chroma going to
 * out's 4:2:0 layout from in's) and, with n, its AC symbols counted and its DC level kept
 * in dcs. Large images are split between two threads (by block rows; the counts are added
 * after): the loop is a third of a 12 MP re-encode. */
int jsal_requantise_blocks(j_decompress_ptr d, jvirt_barray_ptr *src, const jsal_layout *in,
                           jvirt_barray_ptr *dst, const jsal_layout *out, j_compress_ptr c,
                           const float *ratio, int count, int threads, int fit,
                           const jsal_kept *kept, jsal_counts *n, JCOEF **dcs)
{
    int ac_table[MAX_COMPONENTS];
    float step[MAX_COMPONENTS][64], inverse[MAX_COMPONENTS][64];
    jsal_work w;
    memset(&w, 0, sizeof w);
    size_t blocks = 0;
    w.in = in;
    w.out = out;
    w.resample = dst != src;
    w.fit = fit;
    w.kept = kept;
    for (int ci = 0; ci < out->comps; ci++) {
        ac_table[ci] = c->comp_info[ci].ac_tbl_no;
        blocks += (size_t)out->width[ci] * out->height[ci];
        w.src[ci] = gather(d, src[ci], in->height[ci], in->v[ci]);
        /* Luma's output rows are its input rows (jsal_alias_rows): requantised in place. */
        w.dst[ci] = w.resample && ci > 0 ? gather(d, dst[ci], out->height[ci], out->v[ci])
                                         : w.src[ci];
    }
    if (w.resample)
        chroma_steps(d, ratio, count, step, inverse);
    w.ratio = ratio;
    w.count = count;
    w.step = (const float(*)[64])step;
    w.inverse = (const float(*)[64])inverse;
    w.ac_table = ac_table;
    w.dcs = dcs;
    w.ac = n ? n->ac : NULL;
    w.from = 0.0;
    w.to = 1.0;
#ifdef JSAL_THREADS
    if (threads > 1 && blocks >= 16384) {
        jsal_work other = w;
        long (*ac2)[257] = n ? calloc(NUM_HUFF_TBLS, sizeof *ac2) : NULL;
        pthread_t thread;
        other.from = w.to = 0.5;
        other.ac = ac2;
        if ((!n || ac2) && pthread_create(&thread, NULL, work_thread, &other) == 0) {
            work(&w);
            pthread_join(thread, NULL);
            for (int t = 0; n && t < NUM_HUFF_TBLS; t++)
                for (int k = 0; k < 257; k++)
                    n->ac[t][k] += ac2[t][k];
            free(ac2);
            return w.failed || other.failed ? -1 : 0;
        }
        free(ac2);
        w.to = 1.0;
    }
#endif
    work(&w);
    return w.failed ? -1 : 0;
}
