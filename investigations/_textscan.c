/* Which records of the text index hold an ASCII term, case-insensitively: the loop behind textliteral.py.
 *
 * Hyperscan finds a term at memory speed, but its Python binding calls back into Python once per
 * match, taking the GIL each time: a term in every one of a million records spent two thirds of
 * its 0.3-0.45 s there (measured). This loop keeps every match in C. Per record it looks for the
 * term's parts in order (a wildcard between parts), stops at the first record-level answer, and
 * writes the record's index; the GIL is released throughout, so threads scan runs side by side.
 *
 * Candidates come from two bytes of the part (the rarest two in the text, chosen by the caller),
 * compared 32 bytes at a time with AVX2, 16 with SSE2, or one at a time elsewhere; each candidate is
 * then checked byte by byte. A byte matches a lowercase needle byte when it equals it after ASCII
 * lowercasing: exactly DuckDB's ILIKE for an ASCII term over text that holds none of the non-ASCII
 * characters DuckDB lowercases to ASCII (the caller makes sure of that).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TEXTSCAN_X86 1
#endif

/* Records ahead whose first bytes are fetched early. A term found near a record's start leaves the
 * rest unread, so the next record is no longer next in the hardware prefetcher's stream: fetching
 * 8 records ahead took a term in the first bytes of every one of 1M records from 90 ms to 17-27. */
#define AHEAD 8

typedef struct {
    const uint8_t *low; /* the part, lowercased by the caller */
    Py_ssize_t length;
    Py_ssize_t i1, i2; /* positions of its two candidate bytes, i1 <= i2 */
} Part;

typedef Py_ssize_t (*Finder)(const uint8_t *, Py_ssize_t, Py_ssize_t, Py_ssize_t, const Part *);

static inline uint8_t lower(uint8_t byte) { return (byte >= 'A' && byte <= 'Z') ? (uint8_t)(byte | 0x20) : byte; }

/* OR-ing 0x20 maps both cases of a letter to its lowercase; other bytes compare as they are. */
static inline uint8_t fold_of(uint8_t low) { return (low >= 'a' && low <= 'z') ? 0x20 : 0; }

static inline int same(const uint8_t *at, const Part *part) {
    for (Py_ssize_t k = 0; k < part->length; k++)
        if (lower(at[k]) != part->low[k]) return 0;
    return 1;
}

/* Where the part first starts in [from, end - length], or -1: one byte at a time from ``p``. */
static Py_ssize_t find_bytewise(const uint8_t *data, Py_ssize_t p, Py_ssize_t last, const Part *part) {
    const uint8_t c1 = part->low[part->i1], f1 = fold_of(c1);
    for (; p <= last; p++)
        if ((uint8_t)(data[p + part->i1] | f1) == c1 && same(data + p, part)) return p;
    return -1;
}

static Py_ssize_t find_scalar(const uint8_t *data, Py_ssize_t size, Py_ssize_t from, Py_ssize_t end,
                              const Part *part) {
    (void)size;
    return find_bytewise(data, from, end - part->length, part);
}

#ifdef TEXTSCAN_X86
/* One SIMD step: bit k of the mask is set where both candidate bytes match at p + k. */
#define TEXTSCAN_FIND(NAME, ATTR, VEC, WIDTH, SET1, LOAD, OR, AND, CMPEQ, MOVEMASK)                    \
    ATTR static Py_ssize_t NAME(const uint8_t *data, Py_ssize_t size, Py_ssize_t from, Py_ssize_t end, \
                                const Part *part) {                                                   \
        const Py_ssize_t last = end - part->length;                                                    \
        const uint8_t b1 = part->low[part->i1], b2 = part->low[part->i2];                              \
        const VEC c1 = SET1((char)b1), f1 = SET1((char)fold_of(b1));                                   \
        const VEC c2 = SET1((char)b2), f2 = SET1((char)fold_of(b2));                                   \
        Py_ssize_t p = from;                                                                           \
        while (p <= last && p + part->i2 + WIDTH <= size) {                                            \
            VEC a = OR(LOAD((const VEC *)(data + p + part->i1)), f1);                                  \
            VEC b = OR(LOAD((const VEC *)(data + p + part->i2)), f2);                                  \
            unsigned mask = (unsigned)MOVEMASK(AND(CMPEQ(a, c1), CMPEQ(b, c2)));                       \
            while (mask) {                                                                             \
                Py_ssize_t at = p + __builtin_ctz(mask);                                               \
                if (at > last) return -1;                                                              \
                if (same(data + at, part)) return at;                                                  \
                mask &= mask - 1;                                                                      \
            }                                                                                          \
            p += WIDTH;                                                                                \
        }                                                                                              \
        return find_bytewise(data, p, last, part); /* the last bytes of the file */                    \
    }

TEXTSCAN_FIND(find_sse2, , __m128i, 16, _mm_set1_epi8, _mm_loadu_si128, _mm_or_si128, _mm_and_si128,
              _mm_cmpeq_epi8, _mm_movemask_epi8)
TEXTSCAN_FIND(find_avx2, __attribute__((target("avx2"))), __m256i, 32, _mm256_set1_epi8, _mm256_loadu_si256,
              _mm256_or_si256, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_movemask_epi8)
#endif

static Finder finder = find_scalar;
static const char *finder_name = "none";

/* Whether record [lo, hi) holds every part, in order, without overlap. */
static inline int holds(const uint8_t *data, Py_ssize_t size, Py_ssize_t lo, Py_ssize_t hi, const Part *parts,
                        Py_ssize_t count) {
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t at = finder(data, size, lo, hi, &parts[i]);
        if (at < 0) return 0;
        lo = at + parts[i].length;
    }
    return 1;
}

/* The parts of a tuple, pointing into its bytes objects: the tuple (immutable, held by the call's
 * arguments) keeps them alive and unchanged while the GIL is released. */
static int read_parts(PyObject *tuple, Part **out, Py_ssize_t *count) {
    Py_ssize_t n = PyTuple_GET_SIZE(tuple);
    Part *parts = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Part));
    if (parts == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        char *low;
        if (!PyArg_ParseTuple(item, "y#nn", &low, &parts[i].length, &parts[i].i1, &parts[i].i2)) goto fail;
        parts[i].low = (const uint8_t *)low;
        if (parts[i].length < 1 || parts[i].i1 < 0 || parts[i].i1 > parts[i].i2 ||
            parts[i].i2 >= parts[i].length) {
            PyErr_SetString(PyExc_ValueError, "a part must be non-empty, with 0 <= i1 <= i2 < its length");
            goto fail;
        }
        for (Py_ssize_t k = 0; k < parts[i].length; k++) {
            if (lower(parts[i].low[k]) != parts[i].low[k] || parts[i].low[k] > 0x7F) {
                PyErr_SetString(PyExc_ValueError, "a part must be lowercase ASCII");
                goto fail;
            }
        }
    }
    *out = parts;
    *count = n;
    return 0;
fail:
    PyMem_Free(parts);
    return -1;
}

PyDoc_STRVAR(records_doc,
             "records(text, ends, first, last, parts, out) -> int\n\n"
             "Write to ``out`` (int64) the indexes of the records among first..last-1 holding every part in\n"
             "order; record i is text[ends[i-1]:ends[i]] (int64 ends, the first from 0). ``parts``: (lowercase\n"
             "ASCII bytes, i1, i2) per part (a tuple), i1 and i2 its candidate bytes. Returns how many were written.");

static PyObject *records(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer text, ends, out;
    Py_ssize_t first, last;
    PyObject *tuple;
    if (!PyArg_ParseTuple(args, "y*y*nnO!w*", &text, &ends, &first, &last, &PyTuple_Type, &tuple, &out)) return NULL;
    PyObject *result = NULL;
    Part *parts = NULL;
    Py_ssize_t count = 0, found = 0, bad = -1;
    const Py_ssize_t records_in = ends.len / (Py_ssize_t)sizeof(int64_t);
    const uint8_t *data = text.buf;
    const int64_t *bounds = ends.buf;
    int64_t *written = out.buf;
    if (ends.len % (Py_ssize_t)sizeof(int64_t) || out.len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "ends and out must hold int64 values");
        goto done;
    }
    if (first < 0 || last < first || last > records_in ||
        out.len / (Py_ssize_t)sizeof(int64_t) < last - first) {
        PyErr_SetString(PyExc_ValueError, "first..last must lie within ends, and out must have room for them");
        goto done;
    }
    if (read_parts(tuple, &parts, &count) < 0) goto done;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = first; r < last; r++) {
        int64_t lo = r ? bounds[r - 1] : 0, hi = bounds[r];
        if (lo < 0 || hi < lo || hi > text.len) {
            bad = r;
            break;
        }
#if defined(__GNUC__) || defined(__clang__)
        if (r + AHEAD < last) __builtin_prefetch(data + bounds[r + AHEAD], 0, 0);
#endif
        if (holds(data, text.len, (Py_ssize_t)lo, (Py_ssize_t)hi, parts, count)) written[found++] = r;
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "record %zd ends out of order or past the text", bad);
        goto done;
    }
    result = PyLong_FromSsize_t(found);
done:
    PyMem_Free(parts);
    PyBuffer_Release(&text);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"records", records, METH_VARARGS, records_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_textscan", "The C loop of textliteral.py: records holding an ASCII term.", -1, methods,
};

PyMODINIT_FUNC PyInit__textscan(void) {
#ifdef TEXTSCAN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        finder = find_avx2;
        finder_name = "avx2";
    } else {
        finder = find_sse2;
        finder_name = "sse2";
    }
#endif
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && PyModule_AddStringConstant(module, "SIMD", finder_name) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
