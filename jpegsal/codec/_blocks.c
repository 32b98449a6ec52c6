/* The requantise-and-count loop of the libjpeg route (_transcode.c): every stored block
 * requantised as _filter.c does it (_requant.h), its AC symbols counted and its DC level
 * kept, split between two threads for large images. */
#include <stdlib.h>
#include <string.h>
#include "_requant.h"
#include "_transcode.h"
#if !defined(_WIN32)
#include <pthread.h>
#define JSAL_THREADS
#endif

/* One worker's share of requantise_blocks: block rows [from, to) of every component (as
 * fractions of its height), its own AC counts. */
typedef struct {
    JBLOCKROW *rows[MAX_COMPONENTS]; /* each component's block rows, gathered beforehand */
    int components;
    const JDIMENSION *width, *height;
    const float *ratio; /* count x 64 */
    int count;
    const int *ac_table;
    JCOEF **dcs;
    long (*ac)[257]; /* NULL: requantise only */
    double from, to;
} jsal_work;

static void work(jsal_work *w)
{
    for (int ci = 0; ci < w->components; ci++) {
        const float *q = ci < w->count ? w->ratio + 64 * ci : NULL;
        long *ac = w->ac ? w->ac[w->ac_table[ci]] : NULL;
        JDIMENSION first = (JDIMENSION)(w->from * w->height[ci]);
        JDIMENSION last = (JDIMENSION)(w->to * w->height[ci]);
        for (JDIMENSION r = first; r < last; r++) {
            for (JDIMENSION b = 0; b < w->width[ci]; b++) {
                JCOEF *coef = w->rows[ci][r][b];
                if (q)
                    jsal_requantise_block(coef, q);
                if (ac) {
                    jsal_count_ac(coef, ac);
                    w->dcs[ci][(size_t)r * w->width[ci] + b] = coef[0];
                }
            }
        }
    }
}

#ifdef JSAL_THREADS
static void *work_thread(void *w)
{
    work((jsal_work *)w);
    return NULL;
}
#endif

/* Every stored block requantised by the job's ratios and, with n, its AC symbols counted
 * and its DC level kept in dcs. Large images are split between two threads (by block rows;
 * the counts are added after): the loop is a third of a 12 MP re-encode. */
void jsal_requantise_blocks(j_decompress_ptr d, jvirt_barray_ptr *arrays, j_compress_ptr c,
                            const float *ratio, int count, int threads, jsal_counts *n,
                            JCOEF **dcs)
{
    JDIMENSION width[MAX_COMPONENTS], height[MAX_COMPONENTS];
    int ac_table[MAX_COMPONENTS];
    jsal_work w;
    memset(&w, 0, sizeof w);
    size_t blocks = 0;
    w.components = d->num_components;
    for (int ci = 0; ci < d->num_components; ci++) {
        jpeg_component_info *comp = d->comp_info + ci;
        width[ci] = comp->width_in_blocks;
        height[ci] = comp->height_in_blocks;
        ac_table[ci] = c->comp_info[ci].ac_tbl_no;
        blocks += (size_t)width[ci] * height[ci];
        /* In-memory arrays (libjpeg-turbo has no backing store): the rows stay put. */
        w.rows[ci] = (JBLOCKROW *)(*d->mem->alloc_small)(
            (j_common_ptr)d, JPOOL_IMAGE, sizeof(JBLOCKROW) * (height[ci] + 1));
        for (JDIMENSION row = 0; row < height[ci]; row += comp->v_samp_factor) {
            JBLOCKARRAY got = (*d->mem->access_virt_barray)(
                (j_common_ptr)d, arrays[ci], row, (JDIMENSION)comp->v_samp_factor, TRUE);
            for (int r = 0; r < comp->v_samp_factor && row + r < height[ci]; r++)
                w.rows[ci][row + r] = got[r];
        }
    }
    w.width = width;
    w.height = height;
    w.ratio = ratio;
    w.count = count;
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
            return;
        }
        free(ac2);
        w.to = 1.0;
    }
#endif
    work(&w);
}

