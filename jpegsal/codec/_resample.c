/* Chroma to 4:2:0 in the DCT domain, for the libjpeg route (_transcode.c) of files stored
 * 4:4:4, 4:2:2 or 4:4:0 that the machine preset writes 4:2:0.
 *
 * What libjpeg's encoder does to such pixels (a 2x2 box average of each chroma plane, then
 * the forward DCT) is linear, so it is a fixed map of the dequantised coefficients: the
 * output block over the input blocks X_ab it covers is sum_ab M_a X_ab M_b^T, with
 * M_a = D P_a D^T (D the orthonormal 8-point DCT, JPEG's; P_a the half of the pair-average
 * matrix that reads block a). No pixel is formed, so nothing is rounded or clipped on the
 * way, and luma keeps its stored levels (requantised as for 4:2:0 files; _blocks.c). Each
 * pass pairs two blocks along one axis;
 * M_1 is M_0 with alternate signs and M_0 is half zeros, so a pass is 35 multiply-adds of
 * 8 lanes (pair()). tests/test_resample.py checks it against numpy's dense product and the
 * decoded chroma against libjpeg's downsampling of the decoded pixels.
 */
#include <math.h>
#include <string.h>
#include "_transcode.h"

#define JSAL_PI 3.14159265358979323846

/* M_0's nonzero entries, row by row (M_1 = S M_0 S): terms[j] of them, at column[j][t]. */
static float weight[8][8];
static int column[8][8], terms[8];

/* JPEG's orthonormal 8-point DCT: coefficients = d x d^T, pixels = d^T c d (also _fit.c's). */
void jsal_dct_basis(double d[8][8])
{
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            d[u][x] = (u ? 0.5 : sqrt(0.125)) * cos((2 * x + 1) * u * JSAL_PI / 16);
}

void jsal_init_resample(void)
{
    double d[8][8], p[8][8]; /* the DCT; P_0, the average of pairs from the first block */
    memset(p, 0, sizeof p);
    jsal_dct_basis(d);
    for (int i = 0; i < 4; i++) /* z[i] = (s[2i] + s[2i+1]) / 2 over the 16 samples */
        p[i][2 * i] = p[i][2 * i + 1] = 0.5;
    for (int j = 0; j < 8; j++)
        for (int k = 0; k < 8; k++) {
            double s = 0;
            for (int x = 0; x < 8; x++)
                for (int y = 0; y < 8; y++)
                    s += d[j][x] * p[x][y] * d[k][y];
            if (fabs(s) > 1e-9) { /* the others are zero up to rounding */
                weight[j][terms[j]] = (float)s;
                column[j][terms[j]++] = k;
            }
        }
}

void jsal_layout_of(j_decompress_ptr d, jsal_layout *l)
{
    memset(l, 0, sizeof *l);
    l->comps = d->num_components;
    l->max_h = d->max_h_samp_factor;
    l->max_v = d->max_v_samp_factor;
    l->image_width = d->image_width;
    l->image_height = d->image_height;
    for (int ci = 0; ci < d->num_components && ci < MAX_COMPONENTS; ci++) {
        l->h[ci] = d->comp_info[ci].h_samp_factor;
        l->v[ci] = d->comp_info[ci].v_samp_factor;
        l->width[ci] = d->comp_info[ci].width_in_blocks;
        l->height[ci] = d->comp_info[ci].height_in_blocks;
    }
}

/* libjpeg's component size in blocks: ceil(size * samp / (8 * max)). */
static JDIMENSION in_blocks(JDIMENSION size, int samp, int max)
{
    return (JDIMENSION)(((unsigned long)size * samp + 8UL * max - 1) / (8UL * max));
}

/* The 4:2:0 layout of d's image, or 0 where its chroma cannot be resampled to it here:
 * three YCbCr components, both chroma at 1x1 and luma at 1x1, 2x1 or 1x2. */
int jsal_layout_420(j_decompress_ptr d, jsal_layout *l)
{
    jpeg_component_info *c = d->comp_info;
    if (d->num_components != 3 || d->jpeg_color_space != JCS_YCbCr)
        return 0;
    for (int ci = 1; ci < 3; ci++)
        if (c[ci].h_samp_factor != 1 || c[ci].v_samp_factor != 1)
            return 0;
    int h = c[0].h_samp_factor, v = c[0].v_samp_factor;
    if (h < 1 || h > 2 || v < 1 || v > 2 || (h == 2 && v == 2))
        return 0;
    jsal_layout_of(d, l);
    l->max_h = l->max_v = 2;
    for (int ci = 0; ci < 3; ci++) {
        l->h[ci] = l->v[ci] = ci ? 1 : 2;
        l->width[ci] = in_blocks(l->image_width, l->h[ci], 2);
        l->height[ci] = in_blocks(l->image_height, l->v[ci], 2);
    }
    return 1;
}

/* The 4:2:0 layout of d's image and its arrays, requested from d's memory manager before
 * jpeg_read_coefficients realizes them with the image's own; 0 where jsal_layout_420 is. */
int jsal_request_420(j_decompress_ptr d, jsal_layout *l, jvirt_barray_ptr *arrays)
{
    if (!jsal_layout_420(d, l))
        return 0;
    for (int ci = 0; ci < l->comps; ci++) {
        JDIMENSION h = (JDIMENSION)l->h[ci], v = (JDIMENSION)l->v[ci];
        arrays[ci] = (*d->mem->request_virt_barray)(
            (j_common_ptr)d, JPOOL_IMAGE, FALSE, /* every block read is written first */
            (l->width[ci] + h - 1) / h * h, (l->height[ci] + v - 1) / v * v, v);
    }
    return 1;
}

/* The pair transform of 8 lines of 8 values held across 8 lanes (p[k][l]: value k of line l):
 * out[j][l] = sum_k M_0[j][k] p[k][l] + M_1[j][k] q[k][l]. M_1 = S M_0 S with S = diag((-1)^k),
 * so term (j, k) reads p + q where j + k is even and p - q where it is odd, through M_0's
 * nonzero entries only (35 of 64); the lanes are what the compiler vectorises. */
static void pair(float p[8][8], float q[8][8], float out[8][8])
{
    float sum[8][8], diff[8][8];
    const float *a = &p[0][0], *b = &q[0][0];
    float *s = &sum[0][0], *d = &diff[0][0];
    for (int i = 0; i < 64; i++) {
        s[i] = a[i] + b[i];
        d[i] = a[i] - b[i];
    }
    for (int j = 0; j < 8; j++) {
        float acc[8] = {0};
        for (int t = 0; t < terms[j]; t++) {
            int k = column[j][t];
            const float m = weight[j][t], *line = (j + k) & 1 ? diff[k] : sum[k];
            for (int l = 0; l < 8; l++)
                acc[l] += m * line[l];
        }
        memcpy(out[j], acc, sizeof acc);
    }
}

static void transpose(float a[8][8])
{
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++) {
            float t = a[i][j];
            a[i][j] = a[j][i];
            a[j][i] = t;
        }
}

/* Input block x dequantised by step, or (NULL) a flat block at near's DC. */
static void dequantise(const JCOEF *x, const JCOEF *near, const float *step, float out[8][8])
{
    if (x == NULL) {
        memset(out, 0, 64 * sizeof(float));
        out[0][0] = (float)near[0] * step[0];
        return;
    }
    float *flat = &out[0][0]; /* one loop of 64: vectorised */
    for (int k = 0; k < 64; k++)
        flat[k] = (float)x[k] * step[k];
}

/* One output block from the input blocks src[a][b] (a the row, b the column; fy x fx of
 * them), dequantised by step and quantised by inverse (1 / the new step), rounding half to
 * even; natural order. An input block past the image's edge (NULL) stands in as a flat
 * block at its neighbour's DC: it only fills the part of the output no pixel shows. */
void jsal_downsample_block(const JCOEF *src[2][2], int fy, int fx, const float *step,
                           const float *inverse, JCOEF *out)
{
    float x[2][2][8][8], v[2][8][8], z[8][8];
    for (int a = 0; a < fy; a++)
        for (int b = 0; b < fx; b++) {
            const JCOEF *near = src[a][0] ? src[a][0] : src[0][b] ? src[0][b] : src[0][0];
            dequantise(src[a][b], near, step, x[a][b]);
        }
    for (int b = 0; b < fx; b++) { /* vertical: lines down the columns, lanes across */
        if (fy == 2)
            pair(x[0][b], x[1][b], v[b]);
        else
            memcpy(v[b], x[0][b], sizeof v[b]);
    }
    if (fx == 2) { /* horizontal: the same on the transposed blocks */
        transpose(v[0]);
        transpose(v[1]);
        pair(v[0], v[1], z);
        transpose(z);
    } else {
        memcpy(z, v[0], sizeof z);
    }
    jsal_quantise_block(&z[0][0], inverse, out);
}

/* Coefficients z (natural order) quantised by inverse (1 / the new step), rounding half to
 * even by adding and taking away 1.5 * 2^23 (as _requant.h; exact below 2^22, and anything
 * larger is clamped anyway; no value reaches 2^31), then clamped to what 8-bit baseline
 * codes: 10 bits of AC, DC in [-1024, 1023] (its differences in 11 bits). In integers,
 * where both loops vectorise. Also the fit's (_fit.c). */
void jsal_quantise_block(const float *z, const float *inverse, JCOEF *out)
{
    const float magic = 12582912.0f;
    int level[64];
    for (int k = 0; k < 64; k++)
        level[k] = (int)((z[k] * inverse[k] + magic) - magic);
    for (int k = 0; k < 64; k++) {
        int v = level[k] > 1023 ? 1023 : level[k];
        out[k] = (JCOEF)(v < -1023 ? -1023 : v);
    }
    if (level[0] <= -1024) /* DC's range reaches one further down */
        out[0] = -1024;
}
