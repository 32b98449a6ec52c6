/* jpegsal.codec.chroma's fit, compiled: RGB in, YCbCr out, with each chroma plane replaced
 * by the samples whose triangle ("fancy") upsampling is the least-squares fit to it.
 *
 * The numpy/OpenCV version cost more than the encodes it feeds (about 15-19 ms per MP, and
 * fixed per-call costs on small images). This one makes one pass: a chroma row is computed
 * once into a small cache, each sample row is a vertical filter over the cached rows and a
 * horizontal one over its result, and the samples are written straight into their cells.
 * Memory is 32 cached rows per thread, whatever the image's height; from 2 MP the sample
 * rows are split between two threads.
 *
 * Its arithmetic is float32, term by term in the order of chroma.py's numpy version
 * (_numpy_fit): each operation is IEEE-rounded the same way in both, so the two give the
 * same bytes (tests/test_chroma.py). Hence -ffp-contract=off (setup.py): a fused
 * multiply-add rounds once where numpy rounds twice. The weights and the colour matrix
 * come from Python, so there is one copy of each number.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <pthread.h>
#define JSAL_THREADS
#endif

#include "_fit.h" /* WIDE, restrict, TAPS, mirrored(), tap_lines() */

#define SLOTS 32 /* > 4 * TAPS + 2, the rows one sample row reads, so they never collide */

typedef struct {
    const unsigned char *rgb;
    unsigned char *out;
    long width, height, fv, fh;
    float m[2][4];         /* Cb and Cr rows of libjpeg's matrix, offset last */
    float w[TAPS + 1];     /* 2/3 (-1/3)^k */
    float *cache[SLOTS];   /* chroma rows: Cb then Cr, width floats each */
    long tag[SLOTS];       /* the image row each slot holds, -1 when none */
    float *line;           /* the vertical fit of one sample row, Cb then Cr */
    float *even, *odd;     /* a line's mirrored even and odd columns (fh 2) */
    float *samples;        /* one chroma plane's samples of the row */
    unsigned char *levels; /* the same, rounded and clipped */
} fit_state;

WIDE static const float *chroma_row(fit_state *s, long y)
{
    float *restrict cb = s->cache[y % SLOTS], *restrict cr = cb + s->width;
    if (s->tag[y % SLOTS] == y)
        return cb;
    const unsigned char *restrict p = s->rgb + (size_t)y * (size_t)s->width * 3;
    const float *b = s->m[0], *r = s->m[1];
    for (long x = 0; x < s->width; x++) { /* ((m0 R + m1 G) + m2 B) + m3, as numpy's */
        float red = p[3 * x], green = p[3 * x + 1], blue = p[3 * x + 2];
        cb[x] = b[0] * red + b[1] * green + b[2] * blue + b[3];
        cr[x] = r[0] * red + r[1] * green + r[2] * blue + r[3];
    }
    s->tag[y % SLOTS] = y;
    return cb;
}

/* line = the vertical fit of sample row i (its chroma row when fv is 1). */
WIDE static void vertical(fit_state *s, const long *rows, long i)
{
    long n = 2 * s->width;
    float *restrict line = s->line;
    if (s->fv == 1) {
        memcpy(line, chroma_row(s, i), sizeof(float) * (size_t)n);
        return;
    }
    for (long x = 0; x < n; x++)
        line[x] = 0.0f;
    for (int k = 0; k <= TAPS; k++) {
        const float *restrict a = chroma_row(s, rows[2 * i - 2 * k + 2 * TAPS]);
        const float *restrict b = chroma_row(s, rows[2 * i + 1 + 2 * k + 2 * TAPS]);
        float wk = s->w[k];
        for (long x = 0; x < n; x++)
            line[x] = line[x] + wk * (a[x] + b[x]);
    }
}

/* samples = the horizontal fit of one plane's line: sample j is the sum over k of
 * w_k (x[2j - 2k] + x[2j + 1 + 2k]), x the line mirrored; even[t] = x[2 (t - TAPS)] and
 * odd[t] = x[2 t + 1] make every term a unit-stride read. */
WIDE static void horizontal(fit_state *s, const long *cols, const float *line, long count)
{
    float *restrict even = s->even, *restrict odd = s->odd, *restrict out = s->samples;
    if (s->fh == 1) {
        memcpy(out, line, sizeof(float) * (size_t)count);
        return;
    }
    for (long t = 0; t < count + TAPS; t++) {
        even[t] = line[cols[2 * t]]; /* cols[p] is line p - 2 TAPS, mirrored */
        odd[t] = line[cols[2 * t + 1 + 2 * TAPS]];
    }
    for (long j = 0; j < count; j++)
        out[j] = 0.0f;
    for (int k = 0; k <= TAPS; k++) {
        float wk = s->w[k];
        const float *restrict e = even + TAPS - k, *restrict o = odd + k;
        for (long j = 0; j < count; j++)
            out[j] = out[j] + wk * (e[j] + o[j]);
    }
}

/* numpy's rint then clip to 0..255. Adding and taking away 1.5 * 2^23 rounds a float
 * below 2^22 in size to an integer, half to even, with no library call. */
static unsigned char level(float v)
{
    v = (v + 12582912.0f) - 12582912.0f;
    return v < 0.0f ? 0 : v > 255.0f ? 255 : (unsigned char)v;
}

/* Writes sample row i's cells: luma from the pixels, chroma from the samples. */
WIDE static void store(fit_state *s, const long *cols, long i, long count)
{
    long w = s->width, y0 = i * s->fv, y1 = y0 + s->fv < s->height ? y0 + s->fv : s->height;
    unsigned char *restrict q = s->levels;
    for (int c = 0; c < 2; c++) {
        horizontal(s, cols, s->line + c * w, count);
        for (long j = 0; j < count; j++)
            q[j] = level(s->samples[j]);
        for (long y = y0; y < y1; y++) {
            unsigned char *restrict o = s->out + (size_t)y * (size_t)w * 3 + 1 + c;
            if (s->fh == 1) {
                for (long x = 0; x < w; x++)
                    o[3 * x] = q[x];
            } else {
                for (long x = 0; x + 1 < w; x += 2)
                    o[3 * x] = o[3 * x + 3] = q[x / 2];
                if (w % 2)
                    o[3 * (w - 1)] = q[w / 2];
            }
        }
    }
    for (long y = y0; y < y1; y++) { /* libjpeg's luma (jccolor.c), as Pillow's "L" */
        const unsigned char *restrict p = s->rgb + (size_t)y * (size_t)w * 3;
        unsigned char *restrict o = s->out + (size_t)y * (size_t)w * 3;
        for (long x = 0; x < w; x++)
            o[3 * x] = (unsigned char)((19595 * p[3 * x] + 38470 * p[3 * x + 1] +
                                        7471 * p[3 * x + 2] + 32768) >> 16);
    }
}

/* Sample rows [first, last) of s: its own cache and lines, so two can run at once. */
static int run_rows(fit_state *s, const long *rows, const long *cols, long first, long last)
{
    long cols_n = (s->width + s->fh - 1) / s->fh;
    size_t line = (size_t)s->width * 2, extra = 3 * ((size_t)cols_n + TAPS);
    float *block = malloc(sizeof(float) * (line * (SLOTS + 1) + extra));
    s->levels = malloc((size_t)cols_n);
    int ok = block != NULL && s->levels != NULL;
    if (ok) {
        for (int k = 0; k < SLOTS; k++) {
            s->cache[k] = block + (size_t)k * line;
            s->tag[k] = -1;
        }
        s->line = block + SLOTS * line;
        s->even = s->line + line;
        s->odd = s->even + cols_n + TAPS;
        s->samples = s->odd + cols_n + TAPS;
        for (long i = first; i < last; i++) {
            vertical(s, rows, i);
            store(s, cols, i, cols_n);
        }
    }
    free(block);
    free(s->levels);
    return ok;
}

typedef struct {
    fit_state s;
    const long *rows, *cols;
    long first, last;
    int ok;
} fit_job;

#ifdef JSAL_THREADS
static void *job_thread(void *j)
{
    fit_job *job = j;
    job->ok = run_rows(&job->s, job->rows, job->cols, job->first, job->last);
    return NULL;
}
#endif

/* The whole image; with threads > 1, a large one's sample rows split between two threads
 * (each computes the chroma rows it reads, so the halves write the same bytes). */
static int run(fit_state *s, int threads)
{
    long rows_n = (s->height + s->fv - 1) / s->fv, cols_n = (s->width + s->fh - 1) / s->fh;
    long *rows = tap_lines(s->height, rows_n), *cols = tap_lines(s->width, cols_n);
    int ok = rows != NULL && cols != NULL;
#ifdef JSAL_THREADS
    pthread_t thread;
    fit_job other = {*s, rows, cols, rows_n / 2, rows_n, 0};
    if (ok && threads > 1 && (double)s->width * (double)s->height >= (1 << 21) &&
        pthread_create(&thread, NULL, job_thread, &other) == 0) {
        ok = run_rows(s, rows, cols, 0, rows_n / 2);
        pthread_join(thread, NULL);
        ok = ok && other.ok;
    } else
#endif
        ok = ok && run_rows(s, rows, cols, 0, rows_n);
    (void)threads;
    free(rows);
    free(cols);
    return ok;
}

static PyObject *fit(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer rgb, out, matrix, weights;
    fit_state s;
    int threads = 2;
    if (!PyArg_ParseTuple(args, "y*w*lllly*y*|i", &rgb, &out, &s.width, &s.height, &s.fv, &s.fh,
                          &matrix, &weights, &threads))
        return NULL;
    size_t pixels = (size_t)(s.width > 0 ? s.width : 0) * (size_t)(s.height > 0 ? s.height : 0);
    const char *bad = NULL;
    if (s.width < 1 || s.height < 1 || s.fv < 1 || s.fv > 2 || s.fh < 1 || s.fh > 2)
        bad = "fit: size must be positive and factors 1 or 2";
    else if ((size_t)rgb.len != 3 * pixels || (size_t)out.len != 3 * pixels)
        bad = "fit: rgb and out must hold width * height * 3 bytes";
    else if (matrix.len != (Py_ssize_t)sizeof s.m || weights.len != (Py_ssize_t)sizeof s.w)
        bad = "fit: matrix must be 2x4 float32 and weights 8 float32";
    int ok = 1;
    if (bad == NULL) {
        memcpy(s.m, matrix.buf, sizeof s.m);
        memcpy(s.w, weights.buf, sizeof s.w);
        s.rgb = rgb.buf;
        s.out = out.buf;
        Py_BEGIN_ALLOW_THREADS
        ok = run(&s, threads);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&rgb);
    PyBuffer_Release(&out);
    PyBuffer_Release(&matrix);
    PyBuffer_Release(&weights);
    if (bad != NULL) {
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    if (!ok)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"fit", fit, METH_VARARGS,
     "fit(rgb, out, width, height, fv, fh, matrix, weights, threads=2): YCbCr, chroma fitted."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chroma", "Chroma fitted to the decoder's upsampler, compiled.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__chroma(void) { return PyModule_Create(&module); }
