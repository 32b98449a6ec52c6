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
#include "_transcode.h"

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
    int huffman;          /* 0: standard, 1: libjpeg's optimize_coding, 2: own counts, 3: shared */
    int count_only;       /* stop after counting (symbol_counts, for the tests) */
    int threads;          /* 1 or 2: the requantise-and-count loop of large images */
    int resample;         /* chroma to 4:2:0: 1 box mean in the DCT domain (_resample.c),
                             2 fitted to the decoder's upsampler (_fit.c) */
    int not_resampled;    /* set when resample was asked of a layout it cannot take */
    jsal_kept kept;       /* the fit kept between qualities (values NULL: none) */
    jsal_counts *counts;  /* zeroed, for huffman >= 2 */
    jsal_dest dest;
} jsal_job;

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

/* The work between libjpeg's set-up and tear-down (run): read the levels, requantise and
 * count them, build the tables, write. An error anywhere leaves through err->jump. */
static void recode(jsal_job *job, int markers, j_decompress_ptr d, j_compress_ptr c)
{
    jpeg_mem_src(d, job->data, job->size);
    if (markers) {
        jpeg_save_markers(d, JPEG_COM, 0xFFFF);
        for (int m = 0; m < 16; m++)
            jpeg_save_markers(d, JPEG_APP0 + m, 0xFFFF);
    }
    jpeg_read_header(d, TRUE);
    /* The output's layout: the input's, or 4:2:0 in arrays of its own, requested before
     * jpeg_read_coefficients realizes the image's arrays (and with them these). */
    jsal_layout in, out;
    jvirt_barray_ptr fresh[MAX_COMPONENTS] = {NULL};
    if (job->resample && !jsal_request_420(d, &out, fresh)) {
        job->not_resampled = 1;
        return;
    }
    jvirt_barray_ptr *arrays = jpeg_read_coefficients(d);
    jsal_layout_of(d, &in);
    if (!job->resample)
        out = in;
    else /* the output's luma is the input's, read two block rows at a time */
        jsal_alias_rows(d, fresh[0], arrays[0], in.height[0], in.v[0], out.v[0]);
    job->dest.pub.init_destination = dest_init;
    job->dest.pub.empty_output_buffer = dest_grow;
    job->dest.pub.term_destination = dest_term;
    c->dest = &job->dest.pub;
    jpeg_copy_critical_parameters(d, c);
    c->restart_interval = d->restart_interval;
    for (int ci = 0; job->resample && ci < out.comps; ci++) {
        c->comp_info[ci].h_samp_factor = out.h[ci];
        c->comp_info[ci].v_samp_factor = out.v[ci];
    }
    jvirt_barray_ptr *written = job->resample ? fresh : arrays;
    /* Own tables for baseline output (one pass to count, fused with the requantisation);
     * libjpeg's optimize_coding (a separate, slower counting pass) for progressive. */
    int own = job->huffman >= 2 && !job->progressive;
    JCOEF *dcs[MAX_COMPONENTS] = {NULL};
    for (int ci = 0; own && ci < out.comps && ci < MAX_COMPONENTS; ci++)
        dcs[ci] = (JCOEF *)(*d->mem->alloc_large)(
            (j_common_ptr)d, JPOOL_IMAGE, sizeof(JCOEF) * out.width[ci] * out.height[ci]);
    int fit = job->resample == 2;
    const jsal_kept *kept = fit && job->kept.values != NULL ? &job->kept : NULL;
    if (kept && kept->count != 2 * (size_t)out.width[1] * out.height[1] * 64)
        ERREXIT(d, JERR_BUFFER_SIZE); /* Python sizes it (KeptFit): never, short of misuse */
    if (jsal_requantise_blocks(d, arrays, &in, written, &out, c, job->ratio, job->count,
                               job->threads, fit, kept, own ? job->counts : NULL, dcs) != 0)
        ERREXIT1(d, JERR_OUT_OF_MEMORY, 11); /* a fit's few rows of buffers */
    if (own) {
        jsal_count_dc(&out, dcs, c, c->restart_interval, job->counts);
        if (job->count_only)
            return;
        if (job->huffman == 3)
            jsal_share_tables(job->counts, c);
        for (int i = 0; i < NUM_HUFF_TBLS; i++) {
            if (c->dc_huff_tbl_ptrs[i] != NULL)
                jsal_optimal_table(job->counts->dc[i], c->dc_huff_tbl_ptrs[i]);
            if (c->ac_huff_tbl_ptrs[i] != NULL)
                jsal_optimal_table(job->counts->ac[i], c->ac_huff_tbl_ptrs[i]);
        }
    }
    c->optimize_coding = !own && (job->huffman == 1 || job->progressive);
    if (job->progressive)
        jpeg_simple_progression(c);
    jpeg_write_coefficients(c, written);
    if (markers)
        copy_markers(d, c);
    jpeg_finish_compress(c);
    jpeg_finish_decompress(d);
}

/* Runs without the GIL. Returns 0, or -1 with the message in err->message. */
static int run(jsal_job *job, int markers, jsal_error *err)
{
    struct jpeg_decompress_struct d;
    struct jpeg_compress_struct c;
    memset(&d, 0, sizeof d); /* destroying a zeroed struct (mem == NULL) does nothing */
    memset(&c, 0, sizeof c);
    d.err = jpeg_std_error(&err->pub);
    c.err = d.err;
    err->pub.error_exit = on_error;
    err->pub.emit_message = on_message;
    if (setjmp(err->jump)) {
        jpeg_destroy_compress(&c);
        jpeg_destroy_decompress(&d);
        return -1;
    }
    jpeg_create_decompress(&d);
    jpeg_create_compress(&c);
    recode(job, markers, &d, &c);
    jpeg_destroy_compress(&c);
    jpeg_destroy_decompress(&d);
    return 0;
}

/* transcode() and symbol_counts(): the job run without the GIL, its output or counts. */
static PyObject *call(PyObject *args, int count_only)
{
    Py_buffer data, ratio, kept = {0};
    int progressive, strict, markers, huffman, threads = 2, resample = 0, ready = 0;
    if (!PyArg_ParseTuple(args, "y*y*pppi|iiw*p", &data, &ratio, &progressive, &strict,
                          &markers, &huffman, &threads, &resample, &kept, &ready))
        return NULL;
    const char *bad = ratio.len % (64 * sizeof(float)) != 0
                          ? "ratio: 64 float32 values per component"
                          : (huffman < 0 || huffman > 3 ? "huffman: 0, 1, 2 or 3" : NULL);
    if (bad != NULL) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&ratio);
        if (kept.obj != NULL)
            PyBuffer_Release(&kept);
        PyErr_SetString(PyExc_ValueError, bad);
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
    job.resample = resample;
    job.kept.values = kept.obj != NULL ? (float *)kept.buf : NULL;
    job.kept.count = (size_t)kept.len / sizeof(float);
    job.kept.ready = ready;
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
    if (kept.obj != NULL)
        PyBuffer_Release(&kept);
    if (status == 0 && job.not_resampled) {
        free(job.dest.buffer);
        PyErr_SetString(PyExc_ValueError, "chroma resampling to 4:2:0 needs a YCbCr file "
                                          "with 4:4:4, 4:2:2 or 4:4:0 chroma");
        return NULL;
    }
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
     "transcode(data, ratio, progressive, strict, markers, huffman, threads=2, resample=0,"
     " kept=None, ready=False) -> bytes (resample: 1 box mean, 2 fitted chroma, kept in the"
     " writable float32 buffer kept by a first call, ready=False, for the next ones)"},
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
    jsal_init_huffman();
    jsal_init_resample();
    jsal_init_fit();
    return PyModule_Create(&module);
}
