/* The token stage of servicecheck.text.normalize in C: an optional accelerator.
 *
 * tokens(stream, table, elisions) computes what normalize._flat_tokens computes for a folded
 * stream that _MAY_INCLUDE does not match: the tokens (digit runs, letter runs, one other
 * character each), the joins at glued joiners (don't -> dont, c'est -> c est, 19,99,
 * rapprochez-vous), stretched letters squeezed and the spellings applied. It returns
 * (tokens, starts, ends, text): the tokens and their stream offsets (end exclusive) as lists,
 * and the tokens joined by spaces; with identity=True (the stream's offsets are the text's),
 * the fields of the Normalized instead: (text, ((token, start, end), ...), where each token
 * starts in text).
 *
 * The pure-Python code in normalize.py is the reference; tests/test_cnormalize.py checks that
 * both give the same results on arbitrary text. The character classes are those of Python's re
 * module on str patterns: \s is Py_UNICODE_ISSPACE, \d Py_UNICODE_ISDECIMAL, \w
 * Py_UNICODE_ISALNUM or "_".
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define OPAQUE 0x00A7

typedef struct {
    Py_ssize_t start, end; /* in the stream, end exclusive */
    int ws;                /* whitespace before it (its piece is longer than the token) */
    PyObject *text;        /* owned */
} Tok;

static int is_letter(Py_UCS4 c) { return Py_UNICODE_ISALNUM(c) && !Py_UNICODE_ISDECIMAL(c); }

/* normalize._kind of a token: 'D', 'L', 'O' or 'S' by its first character. */
static char kind_of(PyObject *tok) {
    Py_UCS4 c = PyUnicode_READ_CHAR(tok, 0);
    if (Py_UNICODE_ISDECIMAL(c)) return 'D';
    if (Py_UNICODE_ISALNUM(c)) return 'L';
    if (c == OPAQUE && PyUnicode_GET_LENGTH(tok) == 1) return 'O';
    return 'S';
}

static int is_opaque(PyObject *tok) {
    return PyUnicode_GET_LENGTH(tok) == 1 && PyUnicode_READ_CHAR(tok, 0) == OPAQUE;
}

static void free_toks(Tok *toks, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(toks[i].text);
    PyMem_Free(toks);
}

/* A letter token with a run of three or more of one letter: that run squeezed to one (new reference),
 * or NULL with no error when there is none. */
static PyObject *squeezed(PyObject *tok, int *error) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(tok);
    int kind = PyUnicode_KIND(tok);
    const void *data = PyUnicode_DATA(tok);
    int found = 0;
    for (Py_ssize_t i = 0; i + 2 < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_letter(c) && PyUnicode_READ(kind, data, i + 1) == c && PyUnicode_READ(kind, data, i + 2) == c) {
            found = 1;
            break;
        }
    }
    if (!found) return NULL;
    Py_UCS4 *buf = PyMem_New(Py_UCS4, n > 0 ? n : 1);
    if (buf == NULL) {
        *error = 1;
        PyErr_NoMemory();
        return NULL;
    }
    Py_ssize_t m = 0, i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_ssize_t j = i + 1;
        while (j < n && PyUnicode_READ(kind, data, j) == c) j++;
        if (j - i >= 3 && is_letter(c)) {
            buf[m++] = c;
        } else {
            for (Py_ssize_t k = i; k < j; k++) buf[m++] = c;
        }
        i = j;
    }
    PyObject *out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, m);
    PyMem_Free(buf);
    if (out == NULL) *error = 1;
    return out;
}

static PyObject *tokens(PyObject *self, PyObject *args) {
    PyObject *stream, *table, *elisions;
    int identity;
    if (!PyArg_ParseTuple(args, "UOOp", &stream, &table, &elisions, &identity)) return NULL;
    if (PyUnicode_READY(stream) < 0) return NULL;
    if (!PyDict_Check(table) || !PyAnySet_Check(elisions)) {
        PyErr_SetString(PyExc_TypeError, "tokens(stream, dict, set, identity)");
        return NULL;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(stream);
    int skind = PyUnicode_KIND(stream);
    const void *sdata = PyUnicode_DATA(stream);
    PyObject *result = NULL, *out_t = NULL, *out_s = NULL, *out_e = NULL, *sep = NULL, *text = NULL;
    Tok *fin = NULL;

    /* 1. the pieces: whitespace, then a digit run, a letter run or one other character */
    Tok *toks = PyMem_New(Tok, len > 0 ? len : 1);
    Tok *out = PyMem_New(Tok, len > 0 ? len : 1);
    Py_ssize_t n = 0, m = 0;
    if (toks == NULL || out == NULL) {
        PyMem_Free(toks);
        PyMem_Free(out);
        return PyErr_NoMemory();
    }
    Py_ssize_t i = 0;
    while (i < len) {
        Py_ssize_t ws = i;
        while (i < len && Py_UNICODE_ISSPACE(PyUnicode_READ(skind, sdata, i))) i++;
        if (i >= len) break;
        Py_UCS4 c = PyUnicode_READ(skind, sdata, i);
        Py_ssize_t j = i + 1;
        if (Py_UNICODE_ISDECIMAL(c)) {
            while (j < len && Py_UNICODE_ISDECIMAL(PyUnicode_READ(skind, sdata, j))) j++;
        } else if (is_letter(c)) {
            while (j < len && is_letter(PyUnicode_READ(skind, sdata, j))) j++;
        }
        PyObject *piece = PyUnicode_Substring(stream, i, j);
        if (piece == NULL) goto fail;
        toks[n].start = i;
        toks[n].end = j;
        toks[n].ws = i > ws;
        toks[n].text = piece;
        n++;
        i = j;
    }

    /* 2. joins at the joiners glued between a letter or digit and another (normalize._join_flat) */
    Py_ssize_t last = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (k < last) continue;
        Tok *t = &toks[k];
        if (t->end - t->start != 1) continue;
        Py_UCS4 c = PyUnicode_READ(skind, sdata, t->start);
        if (!(c == '-' || c == '\'' || c == '.' || c == ',' || c == ':')) continue;
        if (t->start == 0 || t->end >= len) continue;
        if (!Py_UNICODE_ISALNUM(PyUnicode_READ(skind, sdata, t->start - 1))) continue;
        if (!Py_UNICODE_ISALNUM(PyUnicode_READ(skind, sdata, t->end))) continue;
        /* copy toks[last:k] */
        for (Py_ssize_t q = last; q < k; q++) {
            out[m] = toks[q];
            Py_INCREF(out[m].text);
            m++;
        }
        last = k;
        if (m == 0 || k + 1 >= n) continue;
        /* glued(k) and glued(k + 1) */
        if (t->ws || is_opaque(t->text) || is_opaque(toks[k - 1].text)) continue;
        if (toks[k + 1].ws || is_opaque(toks[k + 1].text)) continue;
        PyObject *prev = out[m - 1].text, *nxt = toks[k + 1].text;
        char pk = kind_of(prev), nk = kind_of(nxt);
        if ((pk != 'L' && pk != 'D') || (nk != 'L' && nk != 'D')) continue;
        if (c == '\'') {
            int elided = PySet_Contains(elisions, prev);
            if (elided < 0) goto fail;
            if (pk == 'L' && nk == 'L' && !elided) {
                PyObject *joined = PyUnicode_Concat(prev, nxt);
                if (joined == NULL) goto fail;
                Py_SETREF(out[m - 1].text, joined);
                out[m - 1].end = toks[k + 1].end;
                last = k + 2;
            } else {
                last = k + 1;
            }
        } else if (c == '-') {
            last = k + 1;
        } else if (pk == 'D' && nk == 'D') {
            PyObject *left = PyUnicode_Concat(prev, t->text);
            if (left == NULL) goto fail;
            PyObject *joined = PyUnicode_Concat(left, nxt);
            Py_DECREF(left);
            if (joined == NULL) goto fail;
            Py_SETREF(out[m - 1].text, joined);
            out[m - 1].end = toks[k + 1].end;
            last = k + 2;
        }
    }
    for (Py_ssize_t q = last; q < n; q++) {
        out[m] = toks[q];
        Py_INCREF(out[m].text);
        m++;
    }

    /* 3. stretched letters squeezed, 4. spellings: the final tokens (borrowed references) */
    int use_table = PyDict_GET_SIZE(table) > 0;
    Py_ssize_t cap = m, f = 0;
    fin = PyMem_New(Tok, cap > 0 ? cap : 1);
    if (fin == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t text_len = 0;
    for (Py_ssize_t q = 0; q < m; q++) {
        PyObject *tok = out[q].text;
        char k = kind_of(tok);
        if (k == 'L' && PyUnicode_GET_LENGTH(tok) > 2) {
            int error = 0;
            PyObject *sq = squeezed(tok, &error);
            if (error) goto fail;
            if (sq != NULL) {
                Py_SETREF(out[q].text, sq);
                tok = sq;
            }
        }
        PyObject *spelled = NULL;
        if (use_table && k == 'L') {
            spelled = PyDict_GetItemWithError(table, tok);
            if (spelled == NULL && PyErr_Occurred()) goto fail;
        }
        if (spelled != NULL) {
            if (!PyTuple_Check(spelled)) {
                PyErr_SetString(PyExc_TypeError, "spellings must be tuples");
                goto fail;
            }
            Py_ssize_t count = PyTuple_GET_SIZE(spelled);
            if (f + count > cap) {
                cap = 2 * (f + count);
                Tok *bigger = PyMem_Resize(fin, Tok, cap);
                if (bigger == NULL) {
                    PyErr_NoMemory();
                    goto fail;
                }
                fin = bigger;
            }
            for (Py_ssize_t r = 0; r < count; r++) {
                PyObject *piece = PyTuple_GET_ITEM(spelled, r);
                if (!PyUnicode_Check(piece)) {
                    PyErr_SetString(PyExc_TypeError, "spellings must be strings");
                    goto fail;
                }
                fin[f].text = piece;
                fin[f].start = out[q].start;
                fin[f].end = out[q].end;
                text_len += PyUnicode_GET_LENGTH(piece) + 1;
                f++;
            }
        } else {
            if (f + 1 > cap) {
                cap = 2 * (f + 1);
                Tok *bigger = PyMem_Resize(fin, Tok, cap);
                if (bigger == NULL) {
                    PyErr_NoMemory();
                    goto fail;
                }
                fin = bigger;
            }
            fin[f].text = tok;
            fin[f].start = out[q].start;
            fin[f].end = out[q].end;
            text_len += PyUnicode_GET_LENGTH(tok) + 1;
            f++;
        }
    }
    out_t = PyList_New(f);
    if (out_t == NULL) goto fail;
    for (Py_ssize_t q = 0; q < f; q++) {
        Py_INCREF(fin[q].text);
        PyList_SET_ITEM(out_t, q, fin[q].text);
    }
    sep = PyUnicode_FromOrdinal(' ');
    if (sep == NULL) goto fail;
    text = PyUnicode_Join(sep, out_t);
    if (text == NULL) goto fail;
    if (identity) {
        /* (text, ((token, start, end), ...), (where each token starts in text, ...)): a Normalized's fields */
        PyObject *triples = PyTuple_New(f), *where = PyTuple_New(f);
        if (triples == NULL || where == NULL) {
            Py_XDECREF(triples);
            Py_XDECREF(where);
            goto fail;
        }
        Py_ssize_t at = 0;
        for (Py_ssize_t q = 0; q < f; q++) {
            PyObject *a = PyLong_FromSsize_t(fin[q].start), *b = PyLong_FromSsize_t(fin[q].end);
            PyObject *w = PyLong_FromSsize_t(at);
            PyObject *triple = (a && b && w) ? PyTuple_New(3) : NULL;
            if (triple == NULL) {
                Py_XDECREF(a);
                Py_XDECREF(b);
                Py_XDECREF(w);
                Py_DECREF(triples);
                Py_DECREF(where);
                goto fail;
            }
            Py_INCREF(fin[q].text);
            PyTuple_SET_ITEM(triple, 0, fin[q].text);
            PyTuple_SET_ITEM(triple, 1, a);
            PyTuple_SET_ITEM(triple, 2, b);
            PyTuple_SET_ITEM(triples, q, triple);
            PyTuple_SET_ITEM(where, q, w);
            at += PyUnicode_GET_LENGTH(fin[q].text) + 1;
        }
        result = PyTuple_Pack(3, text, triples, where);
        Py_DECREF(triples);
        Py_DECREF(where);
    } else {
        out_s = PyList_New(f);
        out_e = PyList_New(f);
        if (out_s == NULL || out_e == NULL) goto fail;
        for (Py_ssize_t q = 0; q < f; q++) {
            PyObject *a = PyLong_FromSsize_t(fin[q].start), *b = PyLong_FromSsize_t(fin[q].end);
            if (a == NULL || b == NULL) {
                Py_XDECREF(a);
                Py_XDECREF(b);
                goto fail;
            }
            PyList_SET_ITEM(out_s, q, a);
            PyList_SET_ITEM(out_e, q, b);
        }
        result = PyTuple_Pack(4, out_t, out_s, out_e, text);
    }
    (void)text_len;
fail:
    Py_XDECREF(out_t);
    Py_XDECREF(out_s);
    Py_XDECREF(out_e);
    Py_XDECREF(sep);
    Py_XDECREF(text);
    PyMem_Free(fin);
    free_toks(toks, n);
    free_toks(out, m);
    return result;
}

static PyMethodDef methods[] = {
    {"tokens", tokens, METH_VARARGS,
     "tokens(stream, table, elisions, identity) -> (tokens, starts, ends, text), or with identity\n"
     "(text, ((token, start, end), ...), token starts in text): normalize._flat_tokens_py in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cnormalize", "The token stage of normalize in C.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__cnormalize(void) { return PyModule_Create(&module); }
