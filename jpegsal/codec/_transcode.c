/* The DCT re-encode through libjpeg itself, for optimised Huffman tables.
 *
 * TurboJPEG 2.x's lossless transform (what jpegsal.codec.requantise uses otherwise) writes
 * baseline output with the standard Huffman tables: about 6 % more bytes than optimised
 * ones at 12 MP. libjpeg's coefficient API can write optimised ones: jpeg_read_coefficients,
 * then one loop over every stored block that requantises it as _filter.c does (float32
 * product, rounding half to even) and counts the symbols the baseline scan will code, then
 * the Huffman tables built from those counts, then jpeg_write_coefficients in one pass.
 * libjpeg's own optimize_coding gives the same bytes (the tests check it) but counts in a
 * separate pass over the coefficients, 13 ms more at 12 MP. Large images split the loop
 * between two threads. The APPn and COM markers are copied as TurboJPEG and jpegtran copy
 * them (JFIF and Adobe markers that libjpeg writes itself are skipped), and the restart
 * interval is kept. Progressive output uses libjpeg's optimize_coding (its symbols, EOB
 * runs and refinement scans, are not counted here).
 *
 * setup.py builds this only where libjpeg's headers are found (optional extension);
 * elsewhere the TurboJPEG route runs. The quantisation tables are left as they were read:
 * the Python side writes the new ones into the DQT segments, as for the TurboJPEG route.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#if !defined(_WIN32)
#include <pthread.h>
#define JSAL_THREADS
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int warnings;
    char message[JMSG_LENGTH_MAX];
} jsal_error;

static void on_error(j_common_ptr cinfo)
{
    jsal_error *e = (jsal_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    jsal_error *e = (jsal_error *)cinfo->err;
    if (level < 0) {  /* a warning: damaged data that libjpeg carried on through */
        if (e->warnings++ == 0)
            (*cinfo->err->format_message)(cinfo, e->message);
    }
}

typedef struct jsal_counts jsal_counts;

/* The output: a buffer this file owns (libjpeg's jpeg_mem_dest reallocates behind the
 * caller's pointer, which an error exit part way would leave dangling). */
typedef struct {
    struct jpeg_destination_mgr pub;
    unsigned char *buffer;
    size_t size;
} jsal_dest;

static void dest_init(j_compress_ptr c)
{
    jsal_dest *dest = (jsal_dest *)c->dest;
    dest->pub.next_output_byte = dest->buffer;
    dest->pub.free_in_buffer = dest->size;
}

static boolean dest_grow(j_compress_ptr c)
{
    jsal_dest *dest = (jsal_dest *)c->dest;
    unsigned char *bigger = realloc(dest->buffer, 2 * dest->size);
    if (bigger == NULL)
        ERREXIT1(c, JERR_OUT_OF_MEMORY, 10);
    dest->pub.next_output_byte = bigger + dest->size;
    dest->pub.free_in_buffer = dest->size;
    dest->buffer = bigger;
    dest->size *= 2;
    return TRUE;
}

static void dest_term(j_compress_ptr c)
{
    (void)c;
}

typedef struct {
    const unsigned char *data;
    unsigned long size;
    const float *ratio;  /* count x 64, natural order */
    int count;
    int progressive;
    int huffman;          /* 0: standard tables, 1: libjpeg's optimize_coding, 2: own counts */
    int count_only;       /* stop after counting (symbol_counts, for the tests) */
    int threads;          /* 1 or 2: the requantise-and-count loop of large images */
    jsal_counts *counts;  /* zeroed, for huffman == 2 */
    jsal_dest dest;
} jsal_job;

/* Natural-order index of the k-th coefficient in zigzag order (the order AC is coded in). */
static const int zigzag[64] = {
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

/* Symbol counts of the one baseline scan, per Huffman table number (257: K.2's extra). */
struct jsal_counts {
    long dc[NUM_HUFF_TBLS][257];
    long ac[NUM_HUFF_TBLS][257];
};

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

static void init_zz_bits(void)
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
static void count_ac(const JCOEF *coef, long *ac)
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
 * by row (width_in_blocks each), gathered by requantise_blocks. */
static void count_dc(j_decompress_ptr d, JCOEF **dcs, j_compress_ptr c, unsigned int restart,
                     jsal_counts *n)
{
    int comps = d->num_components;
    int pred[MAX_COMPONENTS] = {0};
    unsigned long mcu = 0;
    if (comps == 1) {
        jpeg_component_info *comp = d->comp_info;
        long *dc = n->dc[c->comp_info[0].dc_tbl_no];
        size_t blocks = (size_t)comp->width_in_blocks * comp->height_in_blocks;
        for (size_t i = 0; i < blocks; i++, mcu++) {
            if (restart && mcu % restart == 0)
                pred[0] = 0;
            dc[nbits(dcs[0][i] - pred[0])]++;
            pred[0] = dcs[0][i];
        }
        return;
    }
    int max_h = d->max_h_samp_factor, max_v = d->max_v_samp_factor;
    JDIMENSION mcu_cols = (d->image_width + 8 * max_h - 1) / (8 * max_h);
    JDIMENSION mcu_rows = (d->image_height + 8 * max_v - 1) / (8 * max_v);
    for (JDIMENSION my = 0; my < mcu_rows; my++) {
        for (JDIMENSION mx = 0; mx < mcu_cols; mx++, mcu++) {
            if (restart && mcu % restart == 0)
                memset(pred, 0, sizeof pred);
            for (int ci = 0; ci < comps; ci++) {
                jpeg_component_info *comp = d->comp_info + ci;
                long *dc = n->dc[c->comp_info[ci].dc_tbl_no];
                for (int yy = 0; yy < comp->v_samp_factor; yy++) {
                    JDIMENSION r = my * (JDIMENSION)comp->v_samp_factor + (JDIMENSION)yy;
                    for (int xx = 0; xx < comp->h_samp_factor; xx++) {
                        JDIMENSION b = mx * (JDIMENSION)comp->h_samp_factor + (JDIMENSION)xx;
                        if (r >= comp->height_in_blocks || b >= comp->width_in_blocks) {
                            dc[0]++; /* a dummy block */
                            n->ac[c->comp_info[ci].ac_tbl_no][0]++;
                            continue;
                        }
                        int v = dcs[ci][(size_t)r * comp->width_in_blocks + b];
                        dc[nbits(v - pred[ci])]++;
                        pred[ci] = v;
                    }
                }
            }
        }
    }
}

/* A JPEG Huffman table (code lengths at most 16) from symbol counts: JPEG's Annex K.2.
 * Symbol 256 is a placeholder that keeps any code from being all ones. The two least
 * frequent symbols are merged, ties going to the larger symbol number (as libjpeg does, so
 * the tables, and the bytes, are those of libjpeg's own optimize_coding). */
static void optimal_table(long *freq, JHUFF_TBL *table)
{
    int size[257] = {0}, next[257], bits[33] = {0}, live[257], n = 0;
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

/* One worker's share of requantise_blocks: block rows [from, to) of every component (as
 * fractions of its height), its own AC counts. */
typedef struct {
    JBLOCKROW *rows[MAX_COMPONENTS]; /* each component's block rows, gathered beforehand */
    int components;
    const JDIMENSION *width, *height;
    const jsal_job *job;
    const int *ac_table;
    JCOEF **dcs;
    long (*ac)[257]; /* NULL: requantise only */
    double from, to;
} jsal_work;

static void work(jsal_work *w)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: rounds half to even, as _filter.c */
    for (int ci = 0; ci < w->components; ci++) {
        const float *q = ci < w->job->count ? w->job->ratio + 64 * ci : NULL;
        long *ac = w->ac ? w->ac[w->ac_table[ci]] : NULL;
        JDIMENSION first = (JDIMENSION)(w->from * w->height[ci]);
        JDIMENSION last = (JDIMENSION)(w->to * w->height[ci]);
        for (JDIMENSION r = first; r < last; r++) {
            for (JDIMENSION b = 0; b < w->width[ci]; b++) {
                JCOEF *coef = w->rows[ci][r][b];
                if (q)
                    for (int k = 0; k < 64; k++) {
                        float x = (float)coef[k] * q[k];
                        x = (x + magic) - magic;
                        coef[k] = (JCOEF)(int)x;
                    }
                if (ac) {
                    count_ac(coef, ac);
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
static void requantise_blocks(j_decompress_ptr d, jvirt_barray_ptr *arrays, j_compress_ptr c,
                              const jsal_job *job, jsal_counts *n, JCOEF **dcs)
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
    w.job = job;
    w.ac_table = ac_table;
    w.dcs = dcs;
    w.ac = n ? n->ac : NULL;
    w.from = 0.0;
    w.to = 1.0;
#ifdef JSAL_THREADS
    if (job->threads > 1 && blocks >= 16384) {
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

static void copy_markers(j_decompress_ptr d, j_compress_ptr c)
{
    for (jpeg_saved_marker_ptr m = d->marker_list; m != NULL; m = m->next) {
        if (c->write_JFIF_header && m->marker == JPEG_APP0 && m->data_length >= 5 &&
            memcmp(m->data, "JFIF", 5) == 0)
            continue;  /* libjpeg writes its own */
        if (c->write_Adobe_marker && m->marker == JPEG_APP0 + 14 && m->data_length >= 5 &&
            memcmp(m->data, "Adobe", 5) == 0)
            continue;
        jpeg_write_marker(c, m->marker, m->data, m->data_length);
    }
}

/* Runs without the GIL. Returns 0, or -1 with the message in err->message. */
static int run(jsal_job *job, int markers, jsal_error *err)
{
    struct jpeg_decompress_struct d;
    struct jpeg_compress_struct c;
    volatile int started_c = 0;
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    d.err = jpeg_std_error(&err->pub);
    c.err = d.err;
    err->pub.error_exit = on_error;
    err->pub.emit_message = on_message;
    if (setjmp(err->jump)) {
        if (started_c)
            jpeg_destroy_compress(&c);
        jpeg_destroy_decompress(&d);
        return -1;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, job->data, job->size);
    if (markers) {
        jpeg_save_markers(&d, JPEG_COM, 0xFFFF);
        for (int m = 0; m < 16; m++)
            jpeg_save_markers(&d, JPEG_APP0 + m, 0xFFFF);
    }
    jpeg_read_header(&d, TRUE);
    jvirt_barray_ptr *arrays = jpeg_read_coefficients(&d);

    jpeg_create_compress(&c);
    started_c = 1;
    job->dest.pub.init_destination = dest_init;
    job->dest.pub.empty_output_buffer = dest_grow;
    job->dest.pub.term_destination = dest_term;
    c.dest = &job->dest.pub;
    jpeg_copy_critical_parameters(&d, &c);
    c.restart_interval = d.restart_interval;
    /* Own tables for baseline output (one pass to count, fused with the requantisation);
     * libjpeg's optimize_coding (a separate, slower counting pass) for progressive. */
    int own = job->huffman == 2 && !job->progressive;
    JCOEF *dcs[MAX_COMPONENTS] = {NULL};
    for (int ci = 0; own && ci < d.num_components && ci < MAX_COMPONENTS; ci++)
        dcs[ci] = (JCOEF *)(*d.mem->alloc_large)(
            (j_common_ptr)&d, JPOOL_IMAGE,
            sizeof(JCOEF) * d.comp_info[ci].width_in_blocks * d.comp_info[ci].height_in_blocks);
    requantise_blocks(&d, arrays, &c, job, own ? job->counts : NULL, dcs);
    if (own) {
        count_dc(&d, dcs, &c, c.restart_interval, job->counts);
        if (job->count_only) {
            jpeg_destroy_compress(&c);
            jpeg_destroy_decompress(&d);
            return 0;
        }
        for (int i = 0; i < NUM_HUFF_TBLS; i++) {
            if (c.dc_huff_tbl_ptrs[i] != NULL)
                optimal_table(job->counts->dc[i], c.dc_huff_tbl_ptrs[i]);
            if (c.ac_huff_tbl_ptrs[i] != NULL)
                optimal_table(job->counts->ac[i], c.ac_huff_tbl_ptrs[i]);
        }
    }
    c.optimize_coding = !own && (job->huffman == 1 || job->progressive);
    if (job->progressive)
        jpeg_simple_progression(&c);
    jpeg_write_coefficients(&c, arrays);
    if (markers)
        copy_markers(&d, &c);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    started_c = 0;
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return 0;
}

/* transcode() and symbol_counts(): the job run without the GIL, its output or counts. */
static PyObject *call(PyObject *args, int count_only)
{
    Py_buffer data, ratio;
    int progressive, strict, markers, huffman, threads = 2;
    if (!PyArg_ParseTuple(args, "y*y*pppi|i", &data, &ratio, &progressive, &strict, &markers,
                          &huffman, &threads))
        return NULL;
    if (ratio.len % (64 * sizeof(float)) != 0) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&ratio);
        PyErr_SetString(PyExc_ValueError, "ratio: 64 float32 values per component");
        return NULL;
    }
    jsal_job job;
    memset(&job, 0, sizeof job);
    job.data = data.buf;
    job.size = (unsigned long)data.len;
    job.ratio = ratio.buf;
    job.count = (int)(ratio.len / (64 * sizeof(float)));
    job.progressive = progressive;
    job.huffman = huffman;
    job.count_only = count_only;
    job.threads = threads;
    jsal_counts counts;
    memset(&counts, 0, sizeof counts);
    job.counts = &counts;
    job.dest.size = (size_t)data.len + 65536; /* rarely outgrown: the levels only shrink */
    job.dest.buffer = malloc(job.dest.size);
    if (job.dest.buffer == NULL) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&ratio);
        return PyErr_NoMemory();
    }
    jsal_error err;
    memset(&err, 0, sizeof err);
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = run(&job, markers, &err);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    PyBuffer_Release(&ratio);
    if (status != 0 || (strict && err.warnings)) {
        free(job.dest.buffer);
        PyErr_Format(PyExc_OSError, "libjpeg: %s", err.message);
        return NULL;
    }
    PyObject *out;
    if (count_only)
        out = PyBytes_FromStringAndSize((const char *)&counts, (Py_ssize_t)sizeof counts);
    else
        out = PyBytes_FromStringAndSize((const char *)job.dest.buffer,
                                        (Py_ssize_t)(job.dest.size - job.dest.pub.free_in_buffer));
    free(job.dest.buffer);
    return out;
}

static PyObject *transcode(PyObject *self, PyObject *args)
{
    (void)self;
    return call(args, 0);
}

static PyObject *symbol_counts(PyObject *self, PyObject *args)
{
    (void)self;
    return call(args, 1);
}

static PyMethodDef methods[] = {
    {"transcode", transcode, METH_VARARGS,
     "transcode(data, ratio, progressive, strict, markers, huffman, threads=2) -> bytes"},
    {"symbol_counts", symbol_counts, METH_VARARGS,
     "The same arguments (huffman=2): the DC and AC symbol counts, int64 [2][4][257]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_transcode", "libjpeg coefficient re-encode, compiled.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__transcode(void)
{
    init_zz_bits();
    return PyModule_Create(&module);
}
