/* The requantising coefficient filter of jpegsal.codec.requantise, compiled.
 *
 * TurboJPEG's lossless transform calls a "custom filter" on each strip of stored levels.
 * The numpy version of this filter is a Python callback: about 750 calls for a 12 MP
 * photo and three float32 passes over every coefficient, a third of the whole re-encode.
 * Handing TurboJPEG this function's address instead runs the same arithmetic in one pass
 * with no Python in the loop. It links to nothing: the two TurboJPEG structs it reads are
 * declared here with their public layout (turbojpeg.h, unchanged from 2.0 to 3.x).
 *
 * The arithmetic (numpy's, bit for bit) is _requant.h's, shared with the libjpeg route.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_requant.h"

typedef struct { int x, y, w, h; } jsal_region;

typedef struct jsal_transform {  /* tjtransform */
    jsal_region r;
    int op;
    int options;
    void *data;
    void *custom_filter;
} jsal_transform;

/* What the Python side puts in tjtransform.data (a ctypes Structure of the same layout). */
typedef struct {
    int count;             /* components with a ratio; later ones are left as stored */
    float ratio[4][64];    /* old step / new step, natural order, per component */
} jsal_ratios;

static int jsal_requantise(short *coeffs, jsal_region array, jsal_region plane,
                           int component, int index, jsal_transform *transform)
{
    (void)plane;
    (void)index;
    const jsal_ratios *r = (const jsal_ratios *)transform->data;
    if (r == NULL || component < 0 || component >= r->count || component >= 4)
        return 0;
    size_t blocks = (size_t)array.w * (size_t)array.h / 64;
    for (size_t i = 0; i < blocks; i++)
        jsal_requantise_block(coeffs + 64 * i, r->ratio[component]);
    return 0;
}

static PyObject *address(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromVoidPtr((void *)&jsal_requantise);
}

static PyObject *ratios_size(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromSize_t(sizeof(jsal_ratios));
}

static PyMethodDef methods[] = {
    {"address", address, METH_NOARGS, "The filter's address, for tjtransform.customFilter."},
    {"ratios_size", ratios_size, METH_NOARGS, "sizeof the struct it reads from .data."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_filter", "TurboJPEG requantising filter, compiled.", -1, methods,
};

PyMODINIT_FUNC PyInit__filter(void) { return PyModule_Create(&module); }
