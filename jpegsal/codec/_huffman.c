/* Baseline Huffman coding's symbols, counted, and the optimal tables built from the counts
 * (JPEG's Annex K.2), for the libjpeg route of jpegsal.codec.requantise (_transcode.c).
 *
 * The counts must be exact: libjpeg-turbo writes a symbol missing from a table as nothing,
 * a corrupt file. tests/test_transcode.py checks the tables against libjpeg's own
 * optimize_coding on every layout and the counts against a slow reference.
 */
#include <string.h>
#include "_transcode.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Natural-order index of the k-th coefficient in zigzag order (the order AC is coded in). */
static const int zigzag[64] = {
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

#if defined(__GNUC__) || defined(__clang__)
#define JSAL_CTZ64(x) __builtin_ctzll(x)
#define JSAL_NBITS(a) ((a) ? 32 - __builtin_clz(a) : 0)
#else
static int ctz64(unsigned long long x)
{
    int n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
}
static int nbits_slow(unsigned int a)
{
    int n = 0;
    for (; a; a >>= 1)
        n++;
    return n;
}
#define JSAL_CTZ64(x) ctz64(x)
#define JSAL_NBITS(a) nbits_slow(a)
#endif

static int nbits(int v)
{
    unsigned int a = (unsigned int)(v < 0 ? -v : v);
    return JSAL_NBITS(a);
}

/* zz_bits[i][b]: the zigzag-order bits of byte i of a block's natural-order nonzero mask. */
static unsigned long long zz_bits[8][256];

void jsal_init_huffman(void)
{
    int where[64];
    for (int k = 0; k < 64; k++)
        where[zigzag[k]] = k;
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 256; b++) {
            unsigned long long m = 0;
            for (int j = 0; j < 8; j++)
                if (b >> j & 1)
                    m |= 1ULL << where[8 * i + j];
            zz_bits[i][b] = m;
        }
}

/* The AC symbols of one block: zero runs, ZRL (0xF0) for each 16 zeros before a value,
 * EOB (0x00) after the last value. They do not depend on the coding order. The block's
 * nonzero AC positions, as a 64-bit mask in zigzag order, are walked bit by bit. */
void jsal_count_ac(const JCOEF *coef, long *ac)
{
    unsigned long long natural = 0, m = 0;
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    for (int i = 0; i < 4; i++) {  /* 16 levels -> 16 bits of "is zero" */
        __m128i a = _mm_loadu_si128((const __m128i *)(coef + 16 * i));
        __m128i b = _mm_loadu_si128((const __m128i *)(coef + 16 * i + 8));
        __m128i z = _mm_packs_epi16(_mm_cmpeq_epi16(a, zero), _mm_cmpeq_epi16(b, zero));
        natural |= (unsigned long long)(unsigned int)_mm_movemask_epi8(z) << (16 * i);
    }
    natural = ~natural;
#else
    for (int k = 0; k < 64; k++)
        natural |= (unsigned long long)(coef[k] != 0) << k;
#endif
    for (int i = 0; i < 8; i++)
        m |= zz_bits[i][(natural >> (8 * i)) & 255];
    m &= ~1ULL;  /* DC is coded apart */
    int last = 0;  /* zigzag index of the previous value */
    while (m) {
        int k = JSAL_CTZ64(m);
        m &= m - 1;
        int run = k - last - 1;
        for (; run > 15; run -= 16)
            ac[0xF0]++;
        ac[(run << 4) + nbits(coef[zigzag[k]])]++;
        last = k;
    }
    if (last < 63)
        ac[0]++;
}

/* The DC symbols: the category of each block's difference from the previous block of its
 * component, in the order the scan codes them (MCU by MCU; a single component in raster
 * order), with libjpeg's dummy blocks at the right and bottom edges of an interleaved scan
 * (their DC is the previous block's, so the difference is 0, and they add one EOB each)
 * and the predictors reset at each restart marker. dcs[c]: component c's DC levels, row
 * by row (width_in_blocks each), gathered by requantise_blocks; l: the output's layout. */
void jsal_count_dc(const jsal_layout *l, JCOEF **dcs, j_compress_ptr c, unsigned int restart,
                   jsal_counts *n)
{
    int comps = l->comps;
    int pred[MAX_COMPONENTS] = {0};
    unsigned long mcu = 0;
    if (comps == 1) {
        long *dc = n->dc[c->comp_info[0].dc_tbl_no];
        size_t blocks = (size_t)l->width[0] * l->height[0];
        for (size_t i = 0; i < blocks; i++, mcu++) {
            if (restart && mcu % restart == 0)
                pred[0] = 0;
            dc[nbits(dcs[0][i] - pred[0])]++;
            pred[0] = dcs[0][i];
        }
        return;
    }
    JDIMENSION mcu_cols = (l->image_width + 8 * l->max_h - 1) / (8 * l->max_h);
    JDIMENSION mcu_rows = (l->image_height + 8 * l->max_v - 1) / (8 * l->max_v);
    for (JDIMENSION my = 0; my < mcu_rows; my++) {
        for (JDIMENSION mx = 0; mx < mcu_cols; mx++, mcu++) {
            if (restart && mcu % restart == 0)
                memset(pred, 0, sizeof pred);
            for (int ci = 0; ci < comps; ci++) {
                long *dc = n->dc[c->comp_info[ci].dc_tbl_no];
                for (int yy = 0; yy < l->v[ci]; yy++) {
                    JDIMENSION r = my * (JDIMENSION)l->v[ci] + (JDIMENSION)yy;
                    for (int xx = 0; xx < l->h[ci]; xx++) {
                        JDIMENSION b = mx * (JDIMENSION)l->h[ci] + (JDIMENSION)xx;
                        if (r >= l->height[ci] || b >= l->width[ci]) {
                            dc[0]++; /* a dummy block */
                            n->ac[c->comp_info[ci].ac_tbl_no][0]++;
                            continue;
                        }
                        int v = dcs[ci][(size_t)r * l->width[ci] + b];
                        dc[nbits(v - pred[ci])]++;
                        pred[ci] = v;
                    }
                }
            }
        }
    }
}

/* K.2's code sizes: the two least frequent symbols merged until one is left, each merge
 * lengthening the codes of both chains by one. size[] must be zeroed. */
static void code_sizes(long *freq, int *size)
{
    int next[257], live[257], n = 0;
    freq[256] = 1;
    for (int i = 0; i <= 256; i++) {
        next[i] = -1;
        if (freq[i])
            live[n++] = i; /* only these are scanned: O(n^2) in the symbols used */
    }
    while (n > 1) {
        /* The least frequent (c1) and the next (c2); ties go to the larger symbol. */
        int a = -1, b = -1;
        for (int j = 0; j < n; j++) {
            int i = live[j];
            if (a < 0 || freq[i] < freq[live[a]] || (freq[i] == freq[live[a]] && i > live[a])) {
                b = a;
                a = j;
            } else if (b < 0 || freq[i] < freq[live[b]] ||
                       (freq[i] == freq[live[b]] && i > live[b])) {
                b = j;
            }
        }
        int c1 = live[a], c2 = live[b];
        freq[c1] += freq[c2];
        freq[c2] = 0;
        live[b] = live[--n]; /* c2 leaves; the order of live does not matter */
        size[c1]++;
        while (next[c1] >= 0) {
            c1 = next[c1];
            size[c1]++;
        }
        next[c1] = c2;
        size[c2]++;
        while (next[c2] >= 0) {
            c2 = next[c2];
            size[c2]++;
        }
    }
}

/* A JPEG Huffman table (code lengths at most 16) from symbol counts: JPEG's Annex K.2.
 * Symbol 256 is a placeholder that keeps any code from being all ones. The two least
 * frequent symbols are merged, ties going to the larger symbol number (as libjpeg does, so
 * the tables, and the bytes, are those of libjpeg's own optimize_coding). A table with no
 * symbol counted is left as it was. */
void jsal_optimal_table(long *freq, JHUFF_TBL *table)
{
    int size[257] = {0}, bits[33] = {0}, used = 0;
    for (int i = 0; i < 256 && !used; i++)
        used = freq[i] != 0;
    if (!used)  /* a table no component codes with (greyscale's second): K.2 has no codes */
        return; /* to give it, and libjpeg writes only the tables its scan uses */
    code_sizes(freq, size);
    for (int i = 0; i <= 256; i++)
        if (size[i])
            bits[size[i] > 32 ? 32 : size[i]]++;
    for (int i = 32; i > 16; i--)  /* Figure K.3: lengths above 16 moved up the tree */
        while (bits[i] > 0) {
            int j = i - 2;
            while (bits[j] == 0)
                j--;
            bits[i] -= 2;
            bits[i - 1]++;
            bits[j + 1] += 2;
            bits[j]--;
        }
    int longest = 16;
    while (bits[longest] == 0)
        longest--;
    bits[longest]--;  /* the placeholder's code */
    memset(table->bits, 0, sizeof table->bits);
    for (int i = 1; i <= 16; i++)
        table->bits[i] = (UINT8)bits[i];
    int p = 0;
    for (int len = 1; len <= 32; len++)
        for (int i = 0; i < 256; i++)
            if (size[i] == len)
                table->huffval[p++] = (UINT8)i;
    table->sent_table = FALSE;
}

/* The bits of the counted symbols coded with their optimal table, plus the table's DHT
 * entry (17 bytes and one per symbol); the magnitude bits after each symbol are the same
 * whichever table codes it, and are left out. The zero bytes stuffed after each 0xFF of
 * the scan are not seen either: a near tie can go a byte or three the wrong way. */
static long long table_cost(const long *freq)
{
    long f[257];
    JHUFF_TBL t;
    memcpy(f, freq, sizeof f);
    memset(&t, 0, sizeof t);
    jsal_optimal_table(f, &t); /* K.2 works on its copy: it merges counts as it goes */
    long long bits = 0;
    int p = 0;
    for (int len = 1; len <= 16; len++)
        for (int k = 0; k < t.bits[len]; k++, p++)
            bits += (long long)len * freq[t.huffval[p]];
    return p ? bits + 8LL * (17 + p) : 0;
}

/* Chroma coded with luma's DC table, and with luma's AC table, each where that is fewer
 * bytes: a small file's two extra tables cost more than coding its chroma with luma's
 * code lengths (about 0.7 % of a 3 kB file, 0.1 % of a 12 kB one). Only the YCbCr layout
 * libjpeg writes (component 0 on one table, 1 and 2 on another) is considered; counts
 * taken per table are moved with the components. */
void jsal_share_tables(jsal_counts *n, j_compress_ptr c)
{
    if (c->num_components != 3)
        return;
    jpeg_component_info *ci = c->comp_info;
    for (int ac = 0; ac < 2; ac++) {
        long(*counts)[257] = ac ? n->ac : n->dc;
        int a = ac ? ci[0].ac_tbl_no : ci[0].dc_tbl_no;
        int b = ac ? ci[1].ac_tbl_no : ci[1].dc_tbl_no;
        if (a == b || b != (ac ? ci[2].ac_tbl_no : ci[2].dc_tbl_no))
            continue;
        long merged[257];
        for (int i = 0; i < 257; i++)
            merged[i] = counts[a][i] + counts[b][i];
        if (table_cost(merged) >= table_cost(counts[a]) + table_cost(counts[b]))
            continue;
        memcpy(counts[a], merged, sizeof merged);
        memset(counts[b], 0, sizeof merged);
        for (int k = 1; k < 3; k++)
            *(ac ? &ci[k].ac_tbl_no : &ci[k].dc_tbl_no) = a;
    }
}
