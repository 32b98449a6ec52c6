/* Chroma to 4:2:0 fitted to the decoder's upsampler, for the libjpeg route (_transcode.c)
 * of files stored 4:4:4, 4:2:2 or 4:4:0: the DCT route's twin of the pixel route's fit
 * (_chroma.c, jpegsal.codec.chroma; docs/experiments.md sections 30 and 37).
 *
 * _resample.c's box mean is a fixed map of the coefficients; the fit is not local to a
 * block (each sample reads 2 TAPS + 1 lines either side), so it is done on pixels: each
 * input block row is decoded once (float IDCT of the dequantised levels, unrounded and
 * unclipped, as the pixel route fits chroma it has not rounded), held in a cache of a few
 * block rows; each output sample row is the vertical fit over the cached lines and the
 * horizontal fit of that, mirrored at the plane's real edges as libjpeg pads; the samples
 * are clipped to 0..255 as the pixel route's, padded past the edge by repeating the last
 * one (as libjpeg pads a plane), and each 8x8 block is DCT'd and quantised as
 * _resample.c's are. float32 throughout; benchmarks/fitted_files.py is the slow reference
 * (tests/test_fit.py). One state per worker thread. The preset's search keeps each file's
 * fitted coefficients between the qualities it tries (jsal_kept, _blocks.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "_transcode.h"

#include "_fit.h" /* WIDE, TAPS, mirrored(), tap_lines(): as _chroma.c's */

#define SLOTS 8 /* > the 6 input block rows one output block row reads */

/* JPEG's orthonormal DCT D (coefficients = D x D^T, pixels = D^T c D) and its transpose. */
static float dct[8][8], dct_t[8][8];
static float weights[TAPS + 1]; /* 2/3 (-1/3)^k: chroma.py's _WEIGHTS */

void jsal_init_fit(void)
{
    double d[8][8];
    jsal_dct_basis(d); /* _resample.c's, in double, then rounded once to float */
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++) {
            dct[u][x] = (float)d[u][x];
            dct_t[x][u] = dct[u][x];
        }
    for (int k = 0; k <= TAPS; k++)
        weights[k] = (float)(2.0 / 3.0 * pow(-1.0 / 3.0, k));
}

/* out = a b, each sum in ascending order of the inner index (j innermost: 8 lanes). */
static void product(const float a[8][8], const float b[8][8], float out[8][8])
{
    for (int i = 0; i < 8; i++) {
        float s[8] = {0};
        for (int v = 0; v < 8; v++)
            for (int j = 0; j < 8; j++)
                s[j] += a[i][v] * b[v][j];
        memcpy(out[i], s, sizeof s);
    }
}

struct jsal_fit {
    long width, height;     /* the input plane's real size in pixels */
    long bw;                /* its width in blocks */
    int fy, fx;             /* 2 along an axis that is halved */
    float *cache[SLOTS];    /* decoded input block rows: 8 lines of bw * 8 floats */
    long tag[SLOTS];        /* the block row each slot holds, -1 when none */
    float *line, *samples;  /* one vertical fit; the output block row's samples */
    float *even, *odd;      /* a line's mirrored even and odd columns (fx 2) */
    long *rows, *cols;      /* mirrored line indices, see tap_lines() */
    long swidth, sheight;   /* the fitted plane's real size */
    long spad;              /* its width padded to whole output blocks */
};

jsal_fit *jsal_fit_new(long width, long height, long bw, int fy, int fx, long out_bw)
{
    jsal_fit *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->width = width, f->height = height, f->bw = bw, f->fy = fy, f->fx = fx;
    f->swidth = fx == 2 ? (width + 1) / 2 : width;
    f->sheight = fy == 2 ? (height + 1) / 2 : height;
    f->spad = out_bw * 8 > f->swidth ? out_bw * 8 : f->swidth;
    int ok = 1;
    for (int s = 0; s < SLOTS; s++) {
        f->cache[s] = malloc(sizeof(float) * 64 * (size_t)bw);
        f->tag[s] = -1;
        ok = ok && f->cache[s] != NULL;
    }
    f->line = malloc(sizeof(float) * 8 * (size_t)bw);
    f->even = malloc(sizeof(float) * (size_t)(f->swidth + TAPS + 1));
    f->odd = malloc(sizeof(float) * (size_t)(f->swidth + TAPS + 1));
    f->samples = malloc(sizeof(float) * 8 * (size_t)f->spad);
    f->rows = tap_lines(height, f->sheight);
    f->cols = tap_lines(width, f->swidth);
    if (!ok || !f->line || !f->even || !f->odd || !f->samples || !f->rows || !f->cols) {
        jsal_fit_free(f);
        return NULL;
    }
    return f;
}

void jsal_fit_free(jsal_fit *f)
{
    if (f == NULL)
        return;
    for (int s = 0; s < SLOTS; s++)
        free(f->cache[s]);
    free(f->line);
    free(f->even);
    free(f->odd);
    free(f->samples);
    free(f->rows);
    free(f->cols);
    free(f);
}

/* Line y of the input plane: its block row decoded into the cache if it is not there. */
WIDE static const float *plane_line(jsal_fit *f, JBLOCKROW *src, const float *step, long y)
{
    long br = y / 8, s = br % SLOTS;
    float *rows = f->cache[s];
    if (f->tag[s] != br) {
        for (long b = 0; b < f->bw; b++) {
            const JCOEF *x = src[br][b];
            float c[8][8], t[8][8], p[8][8], *flat = &c[0][0];
            for (int k = 0; k < 64; k++) /* one loop of 64: vectorised */
                flat[k] = (float)x[k] * step[k];
            product(dct_t, c, t);
            product(t, dct, p);
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 8; j++)
                    rows[(size_t)i * 8 * (size_t)f->bw + (size_t)(b * 8 + j)] = p[i][j] + 128.0f;
        }
        f->tag[s] = br;
    }
    return rows + (size_t)(y % 8) * 8 * (size_t)f->bw;
}

/* The fitted samples of sample row i into out (swidth of them). */
WIDE static void sample_row(jsal_fit *f, JBLOCKROW *src, const float *step, long i, float *out)
{
    float *line = f->line;
    if (f->fy == 2) {
        for (long x = 0; x < f->width; x++)
            line[x] = 0.0f;
        for (int k = 0; k <= TAPS; k++) {
            const float *a = plane_line(f, src, step, f->rows[2 * i - 2 * k + 2 * TAPS]);
            const float *b = plane_line(f, src, step, f->rows[2 * i + 1 + 2 * k + 2 * TAPS]);
            for (long x = 0; x < f->width; x++)
                line[x] = line[x] + weights[k] * (a[x] + b[x]);
        }
    } else {
        memcpy(line, plane_line(f, src, step, i), sizeof(float) * (size_t)f->width);
    }
    if (f->fx == 2) { /* even[t] = x[2 (t - TAPS)], odd[t] = x[2 t + 1]: unit strides */
        for (long t = 0; t < f->swidth + TAPS; t++) {
            f->even[t] = line[f->cols[2 * t]];
            f->odd[t] = line[f->cols[2 * t + 1 + 2 * TAPS]];
        }
        for (long j = 0; j < f->swidth; j++)
            out[j] = 0.0f;
        for (int k = 0; k <= TAPS; k++) {
            const float *e = f->even + TAPS - k, *o = f->odd + k;
            for (long j = 0; j < f->swidth; j++)
                out[j] = out[j] + weights[k] * (e[j] + o[j]);
        }
    } else {
        memcpy(out, line, sizeof(float) * (size_t)f->swidth);
    }
    for (long j = 0; j < f->swidth; j++)
        out[j] = out[j] < 0.0f ? 0.0f : out[j] > 255.0f ? 255.0f : out[j];
}

/* Output block row r (out_bw blocks into dst) of the fitted plane: see the module; with
 * keep, each block's unquantised coefficients are kept there too (64 floats a block). */
WIDE void jsal_fit_row(jsal_fit *f, JBLOCKROW *src, const float *step, const float *inverse,
                       long r, JBLOCKROW dst, long out_bw, float *keep)
{
    for (int i = 0; i < 8; i++) {
        float *out = f->samples + (size_t)i * (size_t)f->spad;
        long row = 8 * r + i;
        if (row < f->sheight)
            sample_row(f, src, step, row, out);
        else /* past the plane's bottom: its last row again */
            memcpy(out, out - f->spad, sizeof(float) * (size_t)f->spad);
        for (long j = f->swidth; j < f->spad; j++)
            out[j] = out[f->swidth - 1];
    }
    for (long b = 0; b < out_bw; b++) {
        float x[8][8], t[8][8], z[8][8];
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++)
                x[i][j] = f->samples[(size_t)i * (size_t)f->spad + (size_t)(8 * b + j)] - 128.0f;
        product(dct, x, t);
        product(t, dct_t, z);
        if (keep != NULL) /* for the next quality of the same file */
            memcpy(keep + 64 * b, z, sizeof z);
        jsal_quantise_block(&z[0][0], inverse, dst[b]);
    }
}
