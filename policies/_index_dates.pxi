# Part of policies/_index.pyx (included there): dates as day numbers, the day count of
# date.toordinal, which the tables keep as int32 and decisions compare; and back to dates.

cdef int32_t _DAYS_BEFORE_MONTH[13]
cdef int32_t _DAYS_IN_MONTH[13]
_DAYS_BEFORE_MONTH[:] = [-1, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
_DAYS_IN_MONTH[:] = [-1, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


cdef inline bint _leap(int32_t y) noexcept nogil:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


cdef inline int32_t _ordinal(object day) noexcept:
    """date.toordinal() of a date (or a subclass of date)."""
    cdef int32_t y = dt.date_year(day), m = dt.date_month(day), d = dt.date_day(day)
    cdef int32_t p = y - 1
    return p * 365 + p // 4 - p // 100 + p // 400 + _DAYS_BEFORE_MONTH[m] + (
        1 if m > 2 and _leap(y) else 0
    ) + d


cdef object _date(int32_t ordinal):
    """date.fromordinal(ordinal): the algorithm of CPython's datetime module."""
    cdef int32_t n = ordinal - 1, n400, n100, n4, n1, year, month, preceding
    cdef bint leapyear
    n400 = n // 146097
    n = n % 146097
    year = n400 * 400 + 1
    n100 = n // 36524
    n = n % 36524
    n4 = n // 1461
    n = n % 1461
    n1 = n // 365
    n = n % 365
    year += n100 * 100 + n4 * 4 + n1
    if n1 == 4 or n100 == 4:
        return dt.date_new(year - 1, 12, 31)
    leapyear = n1 == 3 and (n4 != 24 or n100 == 3)
    month = (n + 50) >> 5
    preceding = _DAYS_BEFORE_MONTH[month] + (1 if month > 2 and leapyear else 0)
    if preceding > n:
        month -= 1
        preceding -= _DAYS_IN_MONTH[month] + (1 if month == 2 and leapyear else 0)
    return dt.date_new(year, month, n - preceding + 1)


def ordinal(day: object) -> int:
    """date.toordinal(), as the index computes it (for tests)."""
    return _ordinal(day)


def from_ordinal(n: int) -> object:
    """date.fromordinal(), as the index computes it (for tests)."""
    return _date(n)
