/* Internal to _transcode (the libjpeg route of jpegsal.codec.requantise): the parts that
 * count Huffman symbols (_huffman.c) and requantise blocks (_blocks.c). */
#ifndef JSAL_TRANSCODE_H
#define JSAL_TRANSCODE_H

#include <stdio.h>
#include <jpeglib.h>

/* Symbol counts of the one baseline scan, per Huffman table number (257: K.2's extra). */
typedef struct jsal_counts {
    long dc[NUM_HUFF_TBLS][257];
    long ac[NUM_HUFF_TBLS][257];
} jsal_counts;

/* A block layout: the input's, or the 4:2:0 one the output takes when its chroma is
 * resampled (_resample.c). Sizes in blocks, as libjpeg computes them for the frame. */
typedef struct jsal_layout {
    int comps, max_h, max_v;
    JDIMENSION image_width, image_height;
    int h[MAX_COMPONENTS], v[MAX_COMPONENTS];
    JDIMENSION width[MAX_COMPONENTS], height[MAX_COMPONENTS];
} jsal_layout;

/* _huffman.c */
void jsal_init_huffman(void);
void jsal_count_ac(const JCOEF *coef, long *ac);
void jsal_count_dc(const jsal_layout *l, JCOEF **dcs, j_compress_ptr c, unsigned int restart,
                   jsal_counts *n);
void jsal_optimal_table(long *freq, JHUFF_TBL *table);
void jsal_share_tables(jsal_counts *n, j_compress_ptr c);

/* _resample.c */
void jsal_init_resample(void);
void jsal_layout_of(j_decompress_ptr d, jsal_layout *l);
int jsal_layout_420(j_decompress_ptr d, jsal_layout *l);
int jsal_request_420(j_decompress_ptr d, jsal_layout *l, jvirt_barray_ptr *arrays);
void jsal_downsample_block(const JCOEF *src[2][2], int fy, int fx, const float *step,
                           const float *inverse, JCOEF *out);
void jsal_quantise_block(const float *z, const float *inverse, JCOEF *out);
void jsal_dct_basis(double d[8][8]);

/* _fit.c: resampled chroma fitted to the decoder's upsampler instead (one per thread). */
typedef struct jsal_fit jsal_fit;
void jsal_init_fit(void);
jsal_fit *jsal_fit_new(long width, long height, long bw, int fy, int fx, long out_bw);
void jsal_fit_row(jsal_fit *f, JBLOCKROW *src, const float *step, const float *inverse,
                  long r, JBLOCKROW dst, long out_bw, float *keep);
void jsal_fit_free(jsal_fit *f);

/* The fitted chroma of one file kept between its requantisations (they differ only in the
 * quantisation): both chroma planes' unquantised 4:2:0 coefficients, 64 floats a block,
 * filled by the first call (ready 0) and read by the next ones (ready 1). */
typedef struct jsal_kept {
    float *values;
    size_t count; /* floats: 2 x the output's chroma blocks x 64 */
    int ready;
} jsal_kept;

/* _blocks.c: ratio holds count x 64 float32 (natural order), one row per component. With
 * dst != src, the output is out's 4:2:0 layout: chroma resampled into dst (fit: by _fit.c,
 * kept in kept where it is not NULL), luma in place (dst[0]'s rows made src[0]'s by
 * jsal_alias_rows). Returns 0, or -1 where a fit's buffers could not be had. */
int jsal_requantise_blocks(j_decompress_ptr d, jvirt_barray_ptr *src, const jsal_layout *in,
                           jvirt_barray_ptr *dst, const jsal_layout *out, j_compress_ptr c,
                           const float *ratio, int count, int threads, int fit,
                           const jsal_kept *kept, jsal_counts *n, JCOEF **dcs);
void jsal_alias_rows(j_decompress_ptr d, jvirt_barray_ptr dst, jvirt_barray_ptr src,
                     JDIMENSION height, int src_step, int dst_step);

#endif
