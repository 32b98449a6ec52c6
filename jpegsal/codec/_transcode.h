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

/* _huffman.c */
void jsal_init_huffman(void);
void jsal_count_ac(const JCOEF *coef, long *ac);
void jsal_count_dc(j_decompress_ptr d, JCOEF **dcs, j_compress_ptr c, unsigned int restart,
                   jsal_counts *n);
void jsal_optimal_table(long *freq, JHUFF_TBL *table);

/* _blocks.c: ratio holds count x 64 float32 (natural order), one row per component. */
void jsal_requantise_blocks(j_decompress_ptr d, jvirt_barray_ptr *arrays, j_compress_ptr c,
                            const float *ratio, int count, int threads, jsal_counts *n,
                            JCOEF **dcs);

#endif
