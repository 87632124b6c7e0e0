#!/usr/bin/env python3
"""Generates include/mmllm/tokenize/unicode_data.hpp from the Unicode Character Database.

Input: the UCD text files of Debian's `unicode-data` package (/usr/share/unicode, Unicode
15.0), or any directory holding UnicodeData.txt, DerivedNormalizationProps.txt and
PropList.txt (pass it as the first argument). The library never reads these files; it only
uses the generated header, which is committed.

Unicode 15.1 additions: the peer (llama.cpp 583cb834) classifies code points with tables
generated from Unicode 15.1. 15.1 added 627 code points and no decompositions; their
general categories are listed in UNICODE_15_1_ADDITIONS below (from the 15.1 UnicodeData)
and applied on top of a 15.0 database so that \\p{L}/\\p{S} agree with the peer.

Usage: scripts/gen_unicode_tables.py [UCD_DIR] > include/mmllm/tokenize/unicode_data.hpp
"""

import os
import sys

UCD = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"

# General categories, in the order of mmllm::unicode_category.
CATEGORIES = [
    "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps",
    "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co",
]
CAT_INDEX = {c: i for i, c in enumerate(CATEGORIES)}

# (first, last, category) of the code points Unicode 15.1 assigned that 15.0 did not.
UNICODE_15_1_ADDITIONS = [
    (0x2FFC, 0x2FFF, "So"),    # IDEOGRAPHIC DESCRIPTION CHARACTER SURROUND FROM RIGHT .. ROTATION
    (0x31EF, 0x31EF, "So"),    # CJK STROKE HXG
    (0x2EBF0, 0x2EE5D, "Lo"),  # CJK UNIFIED IDEOGRAPH EXTENSION I
]

MAX_CP = 0x110000


def read_lines(name):
    path = os.path.join(UCD, name)
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield line


def parse_range(field):
    field = field.strip()
    if ".." in field:
        a, b = field.split("..")
        return int(a, 16), int(b, 16)
    v = int(field, 16)
    return v, v


def load_unicode_data():
    cat = [CAT_INDEX["Cn"]] * MAX_CP
    ccc = [0] * MAX_CP
    decomp = {}  # cp -> (is_compat, [cps])
    lower = {}  # cp -> simple lowercase
    first = None
    for line in read_lines("UnicodeData.txt"):
        f = line.split(";")
        cp = int(f[0], 16)
        name = f[1]
        if name.endswith(", First>"):
            first = cp
            continue
        lo = first if name.endswith(", Last>") else cp
        first = None
        for c in range(lo, cp + 1):
            cat[c] = CAT_INDEX[f[2]]
            ccc[c] = int(f[3])
        if f[5]:
            parts = f[5].split()
            compat = parts[0].startswith("<")
            if compat:
                parts = parts[1:]
            decomp[cp] = (compat, [int(p, 16) for p in parts])
        if f[13]:
            lower[cp] = int(f[13], 16)
    for a, b, c in UNICODE_15_1_ADDITIONS:
        for cp in range(a, b + 1):
            assert CATEGORIES[cat[cp]] == "Cn", hex(cp)
            cat[cp] = CAT_INDEX[c]
    return cat, ccc, decomp, lower


def load_property(name, prop, value=None):
    out = set()
    for line in read_lines(name):
        f = [x.strip() for x in line.split(";")]
        if f[1] != prop:
            continue
        if value is not None and (len(f) < 3 or f[2] != value):
            continue
        a, b = parse_range(f[0])
        out.update(range(a, b + 1))
    return out


def ranges_of(values):
    """[(start, value)] for runs of equal values over 0..MAX_CP-1."""
    out = []
    prev = None
    for cp in range(MAX_CP):
        v = values[cp]
        if v != prev:
            out.append((cp, v))
            prev = v
    return out


def set_ranges(s):
    """[(first, last)] of a set of code points."""
    out = []
    for cp in sorted(s):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def emit_array(name, ctype, values, per_line=8, comment=None):
    lines = []
    if comment:
        lines.append(f"/// {comment}")
    lines.append(f"inline constexpr {ctype} {name}[] = {{")
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[i:i + per_line]) + ",")
    lines.append("};")
    return "\n".join(lines)


def main():
    cat, ccc, decomp, lower = load_unicode_data()
    white = load_property("PropList.txt", "White_Space")
    excl = load_property("DerivedNormalizationProps.txt", "Full_Composition_Exclusion")
    qc = {}
    for form in ("NFD_QC", "NFC_QC", "NFKD_QC", "NFKC_QC"):
        qc[form] = load_property("DerivedNormalizationProps.txt", form)  # N or M entries

    # Category runs: (start << 5) | category.
    cat_ranges = ranges_of(cat)
    cat_vals = [f"0x{(s << 5) | c:07x}u" for s, c in cat_ranges]

    # Normalization "unsafe" flags: bit 0 = NFC, bit 1 = NFD, bit 2 = NFKC/NFKD. A code point
    # is safe for a form when its quick-check value is Yes and its combining class is 0;
    # runs of safe code points are already normalized and can be copied.
    unsafe = [0] * MAX_CP
    for cp in range(MAX_CP):
        nz = ccc[cp] != 0
        v = 0
        if nz or cp in qc["NFC_QC"]:
            v |= 1
        if nz or cp in qc["NFD_QC"]:
            v |= 2
        if nz or cp in qc["NFKC_QC"] or cp in qc["NFKD_QC"]:
            v |= 4
        unsafe[cp] = v
    unsafe_ranges = ranges_of(unsafe)
    unsafe_vals = [f"0x{(s << 3) | v:07x}u" for s, v in unsafe_ranges]

    # Combining classes: (first << 11) | (length - 1 << 8) ... kept simple: runs (start << 8 | ccc).
    ccc_ranges = ranges_of(ccc)
    ccc_vals = [f"0x{(s << 8) | c:08x}u" for s, c in ccc_ranges]

    # Decompositions (single level, as in UnicodeData): entry = cp | compat << 21 |
    # excluded << 22 (Full_Composition_Exclusion) and (offset << 5) | length into the pool.
    pool = []
    dec_entries = []
    for cp in sorted(decomp):
        compat, seq = decomp[cp]
        assert len(seq) < 32
        off = len(pool)
        pool.extend(seq)
        key = cp | (int(compat) << 21) | (int(cp in excl) << 22)
        dec_entries.append(f"{{0x{key:07x}u, 0x{(off << 5) | len(seq):06x}u}}")
    pool_vals = [f"0x{c:05x}" for c in pool]

    low_vals = [f"{{0x{a:05x}u, 0x{b:05x}u}}" for a, b in sorted(lower.items())]
    white_vals = [f"{{0x{a:05x}u, 0x{b:05x}u}}" for a, b in set_ranges(white)]

    out = []
    out.append("""// mmllm/tokenize/unicode_data.hpp — Unicode Character Database tables (generated).
//
// GENERATED by scripts/gen_unicode_tables.py from the Unicode 15.0 Character Database
// (Debian package `unicode-data`) plus the general categories of the code points added in
// Unicode 15.1 (the version of the peer's tables). Do not edit; rerun the script.
// Used through mmllm/tokenize/unicode.hpp, which builds fast lookup tables from these
// compact run lists once, on first use.
#pragma once

#include <cstdint>

namespace mmllm::detail::ucd {

// clang-format off""")
    out.append(emit_array("category_runs", "std::uint32_t", cat_vals, 8,
                          "General category runs: (first code point << 5) | category index "
                          "(mmllm::unicode_category order); a run lasts until the next one starts."))
    out.append(emit_array("normalization_unsafe_runs", "std::uint32_t", unsafe_vals, 8,
                          "Runs of (first << 3) | flags; flag 1: not NFC-stable, 2: not NFD-stable, "
                          "4: not NFKC/NFKD-stable (quick check not Yes, or combining class != 0)."))
    out.append(emit_array("combining_class_runs", "std::uint32_t", ccc_vals, 8,
                          "Canonical combining class runs: (first << 8) | class."))
    out.append("/// One decomposition mapping: key = code point | compat << 21 | composition-excluded << 22,\n"
               "/// where = (offset into decomposition_pool << 5) | length.\n"
               "struct decomposition_entry {\n  std::uint32_t key;\n  std::uint32_t where;\n};")
    out.append(emit_array("decompositions", "decomposition_entry", dec_entries, 4,
                          "Single-level decomposition mappings sorted by code point."))
    out.append(emit_array("decomposition_pool", "std::uint32_t", pool_vals, 12,
                          "Code points of all decomposition mappings."))
    out.append("/// A (code point, code point) pair.\nstruct code_point_pair {\n  std::uint32_t first;\n"
               "  std::uint32_t second;\n};")
    out.append(emit_array("simple_lowercase", "code_point_pair", low_vals, 6,
                          "Simple lowercase mappings (UnicodeData field 13), sorted."))
    out.append(emit_array("white_space_ranges", "code_point_pair", white_vals, 6,
                          "White_Space property (PropList.txt) as inclusive ranges."))
    out.append("// clang-format on\n\n}  // namespace mmllm::detail::ucd")
    sys.stdout.write("\n\n".join(out) + "\n")
    sys.stderr.write(f"categories {len(cat_vals)} runs, unsafe {len(unsafe_vals)}, ccc {len(ccc_vals)}, "
                     f"decomp {len(dec_entries)} (pool {len(pool)}), lower {len(low_vals)}\n")


if __name__ == "__main__":
    main()
