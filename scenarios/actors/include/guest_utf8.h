/* guest_utf8.h: the UTF-8 check both guest glues use (theater_guest.h for components,
 * packr_guest.h for packr actors). Freestanding C, no libc. */
#ifndef GUEST_UTF8_H
#define GUEST_UTF8_H

#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at the start of s[0..n) (n >= 1),
 * or 0 if it is ill-formed, with *bad = the length of its maximal ill-formed
 * subpart (Unicode 3.9, "U+FFFD substitution of maximal subparts": the same
 * rule as Python's bytes.decode("utf-8", "replace")). */
static __attribute__((unused)) uint32_t guest_utf8_seq(const uint8_t *s, uint32_t n, uint32_t *bad) {
    uint8_t c = s[0], lo = 0x80, hi = 0xBF;
    uint32_t need;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0; /* no overlong forms */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90; /* no overlong forms */
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (uint32_t k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80, hi = 0xBF;
    }
    return need + 1;
}

#endif
