# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False
"""The compiled index behind ``Agreements.decide``: one flat table of (lender, home) pairs.

Why compiled: a decision must not slow down as the set grows. With a million agreements a Python
index is a heap of objects several gigabytes large, and each decision touched a dozen of them at
random (dicts, lists, rule objects, dates, frozensets), each a cache miss. Here every agreement is
a 24-byte ``Rule`` (its days, generosity rank, profile and id), copied into the block of each
(lender, home) pair it covers. A pair is a 192-byte slot (three cache lines, asked for together)
of an open-addressing hash table, placed by the hashes of the two library ids, that holds up to
seven rules itself; larger blocks live in ``Index.entries``. What agreements share (category
set, standing, excluded material, terms: a ``Profile``, and the sets and limits it names) is
stored once and referred to by number. A decision reads one slot (asked for before the libraries
are looked up), perhaps one block, and the Python objects it returns; the ids are copies made
together at build time, the terms shared by value.

``policies.agreements`` turns the pydantic models into the rows ``Index._build`` takes; this module
knows nothing of YAML or pydantic. It is one extension module made of this file (the C helpers
and the layout of the tables) and the files it includes, one concept each:

- ``_index_dates.pxi``: dates as day numbers, as ``date.toordinal`` counts them;
- ``_index_objects.pxi``: the Python objects decisions are made of (``Decision``, ``Reason``,
  the request's fields, the reason codes and flag bits), read and filled slot by slot;
- ``_index_build.pxi``: ``Tables``, the tables and how ``_build`` fills them, and the lookups
  in them;
- ``_index_decide.pxi``: ``Index``, the tables with ``decide``: the rules of docs/agreements.md
  in the same order: refusals, suspensions, bilateral before consortium, admission, terms.
"""

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcpy, memset

cimport cpython.datetime as dt

import dataclasses
from datetime import date

from policies.decision import BorrowRequest, Code, Decision, Reason
from policies.model import FLAGS

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #include <time.h>
    #include <sys/mman.h>
    #include "structmember.h"

    /* The offset of a __slots__ member in its instances, from its member descriptor; -1 if the
       attribute is not a plain object slot. */
    static Py_ssize_t hub_slot_offset(PyObject *descr) {
        if (!PyObject_TypeCheck(descr, &PyMemberDescr_Type)) return -1;
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)) return -1;
        return m->offset;
    }
    /* A new instance of a __slots__ class, not initialised: every slot set below, none left
       empty (an empty slot reads as AttributeError, never as garbage). */
    static PyObject *hub_alloc(PyObject *type) {
        PyTypeObject *t = (PyTypeObject *)type;
        return t->tp_alloc(t, 0);
    }
    static inline void hub_slot_steal(PyObject *obj, Py_ssize_t offset, PyObject *value) {
        *(PyObject **)((char *)obj + offset) = value;
    }
    static inline void hub_slot_set(PyObject *obj, Py_ssize_t offset, PyObject *value) {
        Py_INCREF(value);
        *(PyObject **)((char *)obj + offset) = value;
    }
    static inline PyObject *hub_slot_get(PyObject *obj, Py_ssize_t offset) {
        return *(PyObject **)((char *)obj + offset);
    }
    /* time.time(), computed as CPython computes it. */
    static double hub_wall_time(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec) / 1e9;
    }
    /* Large tables on transparent huge pages where the kernel offers them: a random lookup in
       a table of hundreds of megabytes then costs one cache miss, not also a TLB miss. */
    static void *hub_big_alloc(size_t size) {
        void *p = NULL;
        size_t align = (size_t)2 << 20;
        if (size == 0) size = 1;
        if (size >= align) {
            size = (size + align - 1) & ~(align - 1);
            if (posix_memalign(&p, align, size) != 0) return NULL;
    #ifdef MADV_HUGEPAGE
            madvise(p, size, MADV_HUGEPAGE);
    #endif
            return p;
        }
        /* smaller tables: aligned to a cache line, so that a slot fills exactly three */
        if (posix_memalign(&p, 64, size) != 0) return NULL;
        return p;
    }

    """
    Py_ssize_t hub_slot_offset(object descr)
    object hub_alloc(object type)
    void hub_slot_steal(object obj, Py_ssize_t offset, PyObject *value)
    void hub_slot_set(object obj, Py_ssize_t offset, object value)
    PyObject *hub_slot_get(object obj, Py_ssize_t offset)
    double hub_wall_time()
    void *hub_big_alloc(size_t size)
    void __builtin_prefetch(const void *address)

cdef extern from "Python.h":
    PyObject *PyDict_GetItemWithError(object d, object key)
    PyObject *PyErr_Occurred()

dt.import_datetime()

# --- the layout of the tables ---------------------------------------------------------------------

cdef enum:
    SUSPENSION = 0
    BILATERAL = 1
    CONSORTIUM = 2
    INLINE = 7           # a pair with at most this many rules keeps them in its slot

cdef enum:
    NEEDS_VALID_CARD = 1         # standing.card_must_be_valid
    NEEDS_KNOWN_STANDING = 2     # standing.requires_standing_source

#: the last day of an agreement without ``until``: after date.max, so that every day is before it
cdef int32_t OPEN_END = 3652060

ctypedef struct Rule:
    int32_t start        # first day in force (day number; 1, date.min, when open)
    int32_t end          # last day in force; OPEN_END when effective.until is absent
    int32_t rank         # most generous first: most items, then longest loan, then id
    int32_t profile      # what the agreement shares with others: Index.profiles
    PyObject *id         # the agreement id (str), kept alive by Index._keep

ctypedef struct Profile:
    int32_t cats         # category set number; -1: every category (a suspension without any)
    int32_t excl         # excluded-material set number; -1: none
    int32_t fines        # max_fines as a position in the sorted limits; -1: no limit
    uint16_t blocking    # blocking flags (FLAG_BITS)
    uint8_t needs        # NEEDS_VALID_CARD | NEEDS_KNOWN_STANDING (the agreement's standing)
    uint8_t kind
    PyObject *terms      # Terms; for a suspension, its reason (str)

ctypedef struct Slot:
    int32_t lender       # -1: empty
    int32_t home
    uint32_t off         # where the pair's rules are in Index.entries, if not inline
    uint32_t n[3]        # how many suspensions, bilaterals, consortia, in that order
    Rule inline_[INLINE]

if sizeof(Rule) != 24 or sizeof(Slot) != 192:  # three cache lines a slot, seven rules in it
    raise ImportError(f"unexpected layout: Rule {sizeof(Rule)} bytes, Slot {sizeof(Slot)} bytes")

cdef struct Found:
    Rule **rules
    Py_ssize_t n
    Py_ssize_t cap
    Rule *inline_[16]


include "_index_dates.pxi"
include "_index_objects.pxi"
include "_index_build.pxi"
include "_index_decide.pxi"
