# Part of policies/_index.pyx (included there): the Python objects decisions are made of. Decision,
# Reason and BorrowRequest are the dataclasses of policies.decision, read and filled here slot by
# slot; the reason codes and the patron flags' bits.

cdef object _Decision = Decision
cdef object _Reason = Reason
cdef object _Request = BorrowRequest
cdef object _EMPTY = ()


cdef Py_ssize_t _offset(object cls, str name) except -1:
    offset = hub_slot_offset(cls.__dict__[name])
    if offset < 0:
        raise TypeError(f"{cls.__name__}.{name} is not a __slots__ member")
    return offset


# Decision's slots, in the order of its fields
cdef Py_ssize_t D_ELIGIBLE = _offset(Decision, "eligible")
cdef Py_ssize_t D_LENDER = _offset(Decision, "lender")
cdef Py_ssize_t D_HOME = _offset(Decision, "home_library")
cdef Py_ssize_t D_CATEGORY = _offset(Decision, "patron_category")
cdef Py_ssize_t D_TERMS = _offset(Decision, "terms")
cdef Py_ssize_t D_AGREEMENTS = _offset(Decision, "agreements")
cdef Py_ssize_t D_REASONS = _offset(Decision, "reasons")
cdef Py_ssize_t D_VALID_UNTIL = _offset(Decision, "valid_until")
cdef Py_ssize_t D_DECIDED_AT = _offset(Decision, "decided_at")
cdef Py_ssize_t R_CODE = _offset(Reason, "code")
cdef Py_ssize_t R_AGREEMENT = _offset(Reason, "agreement")
cdef Py_ssize_t R_FACTS = _offset(Reason, "facts")
# BorrowRequest's, read directly when the request is exactly a BorrowRequest
cdef Py_ssize_t Q_LENDER = _offset(BorrowRequest, "lender")
cdef Py_ssize_t Q_HOME = _offset(BorrowRequest, "home_library")
cdef Py_ssize_t Q_CATEGORY = _offset(BorrowRequest, "category")
cdef Py_ssize_t Q_ON = _offset(BorrowRequest, "on")
cdef Py_ssize_t Q_MATERIAL = _offset(BorrowRequest, "material")
cdef Py_ssize_t Q_FINES = _offset(BorrowRequest, "fines")
cdef Py_ssize_t Q_FLAGS = _offset(BorrowRequest, "flags")
cdef Py_ssize_t Q_EXPIRES = _offset(BorrowRequest, "card_expires")
cdef Py_ssize_t Q_KNOWN = _offset(BorrowRequest, "standing_known")

# every field of Decision and Reason is set by this module (Decision_new, Reason_new): a new field
# must be filled here too, or its instances would have an empty slot
def _check_fields(cls: type, expected: set[str]) -> None:
    names = {f.name for f in dataclasses.fields(cls)}
    if names != expected:
        raise TypeError(f"policies._index fills {sorted(expected)} of {cls.__name__}, "
                        f"which has {sorted(names)}: update _index_objects.pxi")


_check_fields(Decision, {"eligible", "lender", "home_library", "patron_category", "terms",
                         "agreements", "reasons", "valid_until", "decided_at"})
_check_fields(Reason, {"code", "agreement", "facts"})
if len(FLAGS) > 16:
    raise TypeError(f"{len(FLAGS)} patron flags do not fit the index's 16-bit sets")

cdef object C_NO_AGREEMENT = Code.NO_AGREEMENT
cdef object C_CATEGORY_NOT_COVERED = Code.CATEGORY_NOT_COVERED
cdef object C_NOT_YET_IN_FORCE = Code.NOT_YET_IN_FORCE
cdef object C_ENDED = Code.ENDED
cdef object C_SUSPENDED = Code.SUSPENDED
cdef object C_CARD_EXPIRED = Code.CARD_EXPIRED
cdef object C_FINES_OVER_LIMIT = Code.FINES_OVER_LIMIT
cdef object C_BLOCKING_FLAG = Code.BLOCKING_FLAG
cdef object C_MATERIAL_EXCLUDED = Code.MATERIAL_EXCLUDED
cdef object C_STANDING_UNKNOWN = Code.STANDING_UNKNOWN
cdef object C_UNKNOWN_LIBRARY = Code.UNKNOWN_LIBRARY
cdef object C_UNKNOWN_CATEGORY = Code.UNKNOWN_CATEGORY
cdef object C_OWN_LIBRARY = Code.OWN_LIBRARY

#: the patron flags in alphabetical order: bit i is SORTED_FLAGS[i], so that the blocking flags
#: of a refusal come out sorted by walking the bits
SORTED_FLAGS = tuple(sorted(FLAGS))
FLAG_BITS = {flag: 1 << i for i, flag in enumerate(SORTED_FLAGS)}
cdef dict _FLAG_BITS = FLAG_BITS
cdef tuple _SORTED_FLAGS = SORTED_FLAGS


cdef inline Reason_new(object code, object agreement, object facts):
    reason = hub_alloc(_Reason)
    hub_slot_set(reason, R_CODE, code)
    hub_slot_set(reason, R_AGREEMENT, agreement)
    hub_slot_set(reason, R_FACTS, facts)
    return reason


cdef inline Decision_new(
    bint eligible, object lender, object home, object category, object terms,
    object agreements, object reasons, object valid_until,
):
    decision = hub_alloc(_Decision)
    hub_slot_set(decision, D_ELIGIBLE, True if eligible else False)
    hub_slot_set(decision, D_LENDER, lender)
    hub_slot_set(decision, D_HOME, home)
    hub_slot_set(decision, D_CATEGORY, category)
    hub_slot_set(decision, D_TERMS, terms)
    hub_slot_set(decision, D_AGREEMENTS, agreements)
    hub_slot_set(decision, D_REASONS, reasons)
    hub_slot_set(decision, D_VALID_UNTIL, valid_until)
    hub_slot_set(decision, D_DECIDED_AT, hub_wall_time())
    return decision


cdef inline bint _complete(object request) noexcept:
    """Whether every slot of an exact BorrowRequest is set (always, unless someone deleted one
    behind the frozen dataclass's back)."""
    return (
        hub_slot_get(request, Q_LENDER) != NULL and hub_slot_get(request, Q_HOME) != NULL
        and hub_slot_get(request, Q_CATEGORY) != NULL and hub_slot_get(request, Q_ON) != NULL
        and hub_slot_get(request, Q_MATERIAL) != NULL and hub_slot_get(request, Q_FINES) != NULL
        and hub_slot_get(request, Q_FLAGS) != NULL and hub_slot_get(request, Q_EXPIRES) != NULL
        and hub_slot_get(request, Q_KNOWN) != NULL
    )


cdef inline _deny(object lender, object home, object category, tuple agreements, tuple reasons):
    return Decision_new(False, lender, home, category, None, agreements, reasons, None)


cdef inline PyObject *_dict_get(dict d, object key) except? NULL:
    """d.get(key) as a borrowed reference; NULL if absent (an unhashable key raises)."""
    return PyDict_GetItemWithError(d, key)  # NULL with an exception set: propagated


cdef inline uint16_t _flag_bits(object flags) except? 0xFFFF:
    cdef uint16_t bits = 0
    cdef PyObject *bit
    if not flags:
        return 0
    for flag in flags:
        bit = PyDict_GetItemWithError(_FLAG_BITS, flag)
        if bit != NULL:
            bits |= <uint16_t>(<object>bit)
        elif PyErr_Occurred():
            return 0xFFFF  # with the exception set: propagated
    return bits
