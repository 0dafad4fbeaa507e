#!/usr/bin/env python3
"""The file-level import graph of src/, and every circle in it (issue 22: "no import circle
remains between files").

  scripts/import-graph.py [--allow PREFIX]... [--edges] [--src DIR]

Prints each strongly connected component of more than one file (the files, then every arrow
between two of them with the lines that make it) and exits 1 when there is one, 0 when there is
none. `--allow src/engine/` drops every arrow that starts or ends in a file under that prefix
(repeatable), for work that is being done elsewhere. `--edges` also prints the whole graph.
Python 3 standard library only.

Method. Each file is one node; its module path follows from where it lies (`src/lib.rs` is the
crate root, `src/a.rs` and `src/a/mod.rs` are `crate::a`, `src/a/b.rs` is `crate::a::b`; the binary
`src/bin/framefan/main.rs` is a second crate root whose `framefan::` paths lead into the library).
Comments, string and char literals are blanked first, so doc links and messages never count.
Then an arrow A → B is counted for:

  * every `use` declaration (`pub use` re-exports included), with `{...}` groups, `self`, `as`
    and `*` expanded into one path each;
  * every path written in code that starts with `crate::`, `$crate::`, `self::`, `super::`
    (repeated), `framefan::` in the binary, or a name that is a module in scope: a child declared
    with `mod x;` in A, or a module that one of A's `use` declarations names (`use crate::plan;`
    then `plan::compile::...`).

A path resolves to the deepest module file it walks through: `crate::plan::compile::css::scope`
is an arrow to `src/plan/compile/css.rs`, and `crate::plan::PlanResult` is an arrow to
`src/plan/mod.rs`, even when that mod.rs only re-exports the item (re-exports are not followed:
the file named is the file imported). A `mod x;` declaration alone is no arrow (a parent owns its
children without importing them); a parent that names a child's item does import it, so a child
that imports from its parent's mod.rs while the parent imports the child is a circle.

Not counted: `pub(in path)` visibilities (no import), paths inside `#[cfg(test)]` items (the
`mod tests { ... }` blocks and any other item (`fn`, `use`, `impl`, ...) carrying that
attribute: test code may reach anywhere; a field or statement under it still counts), paths to
other crates, and names made visible only through a glob (`use x::*` is one
arrow to x's file, whatever is then used from it).
"""

import argparse
import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
KEYWORDS_NOT_MODULES = {"Self"}


def blank_comments_and_literals(text):
    """Returns text with comments and string/char literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif m := re.compile(r'b?r(#*)"').match(text, i):
            if i > 0 and re.match(r"[A-Za-z0-9_]", text[i - 1]):
                out.append(c)
                i += 1
                continue
            end = text.find('"' + m.group(1), m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i) and not _ident_before(text, i)):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}'), not a lifetime ('a, 'static).
            m = re.compile(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'").match(text, i)
            if m:
                out.append(blank(m.group(0)))
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _ident_before(text, i):
    return i > 0 and re.match(r"[A-Za-z0-9_]", text[i - 1]) is not None


def matching_brace(text, open_at):
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


ITEM_START = re.compile(r"\s*(#\[[^\]]*\]\s*)*(pub(\s*\([^)]*\))?\s+)?(async\s+|unsafe\s+)*"
                        r"(mod|fn|use|impl|struct|enum|trait|const|static|type)\b")


def blank_cfg_test_items(text):
    """Blanks every item carrying `#[cfg(test)]`: up to its `;`, or its `{...}` block. The
    attribute on anything else (a field, a statement) is left alone: that code counts."""
    for m in reversed(list(re.finditer(r"#\[cfg\(test\)\]", text))):
        if not ITEM_START.match(text, m.end()):
            continue
        j, parens = m.end(), 0
        while j < len(text) and not (text[j] in ";{" and parens == 0):
            parens += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        end = matching_brace(text, j) if j < len(text) and text[j] == "{" else j
        text = text[: m.start()] + re.sub(r"[^\n]", " ", text[m.start() : end + 1]) + text[end + 1 :]
    return text


def blank_visibility_paths(text):
    return re.sub(r"pub\s*\(\s*in\s+[^)]*\)", lambda m: " " * len(m.group(0)), text)


def parse_use_tree(tree):
    """`a::{b, c::{d as e, self}, f::*}` → [(segments, bound name or None, is_glob)]."""
    tokens = re.findall(IDENT + r"|::|[{},*]", tree)
    pos = 0

    def subtree(prefix):
        nonlocal pos
        segs = list(prefix)
        if pos < len(tokens) and tokens[pos] == "::":
            pos += 1  # a leading `::` names an extern crate: kept as written.
        while pos < len(tokens):
            t = tokens[pos]
            if t == "{":
                pos += 1
                found = []
                while pos < len(tokens) and tokens[pos] != "}":
                    if tokens[pos] == ",":
                        pos += 1
                        continue
                    found += subtree(segs)
                pos += 1
                return found
            if t == "*":
                pos += 1
                return [(segs, None, True)]
            if t in (",", "}"):
                break
            if t == "::":
                pos += 1
                continue
            if t == "as":
                alias = tokens[pos + 1]
                pos += 2
                target = segs[:-1] if segs[-1] == "self" else segs
                return [(target, alias, False)]
            segs.append(t)
            pos += 1
        target = segs[:-1] if segs and segs[-1] == "self" else segs
        return [(target, target[-1] if target else None, False)]

    return subtree([])


class Crate:
    """The module tree of one crate: module path (tuple) → file."""

    def __init__(self, name, root_dir, root_file):
        self.name, self.root_dir, self.root_file = name, root_dir, root_file
        self.modules = {}

    def add(self, path):
        rel = os.path.relpath(path, self.root_dir)
        if path == self.root_file:
            module = ()
        else:
            parts = rel[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            module = tuple(parts)
        self.modules[module] = path
        return module


def find_crates(src):
    lib = Crate("lib", src, os.path.join(src, "lib.rs"))
    crates = [lib]
    bin_root = os.path.join(src, "bin")
    owner = {}
    if os.path.isdir(bin_root):
        for name in sorted(os.listdir(bin_root)):
            main = os.path.join(bin_root, name, "main.rs")
            if os.path.isfile(main):
                crates.append(Crate("bin:" + name, os.path.dirname(main), main))
    for dirpath, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            crate = next((c for c in crates[1:] if path.startswith(c.root_dir + os.sep)), None)
            crate = crate or (lib if not path.startswith(bin_root + os.sep) else None)
            if crate:
                owner[path] = (crate, crate.add(path))
    return lib, owner


class FileScan:
    """One file's arrows: target file → [(line, path as written)]."""

    def __init__(self, path, crate, module, lib):
        self.path, self.crate, self.module, self.lib = path, crate, module, lib
        self.is_mod_file = path == crate.root_file or os.path.basename(path) == "mod.rs"
        self.arrows = defaultdict(list)
        with open(path, encoding="utf-8") as f:
            raw = f.read()
        self.text = blank_visibility_paths(blank_cfg_test_items(blank_comments_and_literals(raw)))
        # Names in scope that are modules: this file's `mod x;` children, then `use` bindings.
        self.scope = {}
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*;", self.text):
            self.scope[m.group(1)] = (crate, self.module + (m.group(1),))

    def line_of(self, offset):
        return self.text.count("\n", 0, offset) + 1

    def absolute(self, segs):
        """(crate, module path, remaining segments) where the path's start is known, else None."""
        head = segs[0]
        if head in ("crate", "$crate"):
            return self.crate, (), segs[1:]
        if head == "framefan" and self.crate is not self.lib:
            return self.lib, (), segs[1:]
        if head == "self":
            return self.crate, self.module, segs[1:]
        if head == "super":
            base, rest = self.module, segs
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
            return self.crate, base, rest
        if head in self.scope:
            crate, base = self.scope[head]
            return crate, base, segs[1:]
        return None

    def resolve(self, segs):
        """The deepest module file the path walks through, and that module."""
        start = self.absolute(segs)
        if start is None:
            return None
        crate, base, rest = start
        if base not in crate.modules:
            return None
        for seg in rest:
            if base + (seg,) in crate.modules:
                base = base + (seg,)
            else:
                break
        return crate, base

    def add(self, segs, offset, written):
        found = self.resolve(segs)
        if found and found[0].modules[found[1]] != self.path:
            self.arrows[found[0].modules[found[1]]].append((self.line_of(offset), written))
        return found

    def scan(self):
        use_re = re.compile(r"\buse\s+(?!<)([^;]*);")
        spans = []
        # Uses first, twice, so a later `use` of a module bound by an earlier one resolves.
        for _ in range(2):
            self.arrows.clear()
            for m in use_re.finditer(self.text):
                spans.append(m.span())
                for segs, bound, glob in parse_use_tree(m.group(1)):
                    if not segs:
                        continue
                    found = self.add(segs, m.start(), "use " + "::".join(segs) + ("::*" if glob else ""))
                    if found and bound and not glob:
                        crate, module = found
                        full = self.absolute(segs)
                        if full and len(found[1]) == len(full[1]) + len(full[2]):
                            self.scope[bound] = (crate, module)
        path_re = re.compile(r"(?<![A-Za-z0-9_:])(\$?" + IDENT + r"(?:\s*::\s*" + IDENT + r")+)")
        for m in path_re.finditer(self.text):
            if any(a <= m.start() < b for a, b in spans):
                continue
            segs = re.split(r"\s*::\s*", m.group(1))
            if segs[0] in KEYWORDS_NOT_MODULES:
                continue
            self.add(segs, m.start(), "::".join(segs))
        return self


def tarjan(nodes, edges):
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--allow", action="append", default=[], metavar="PREFIX",
                    help="drop arrows that start or end in a file under PREFIX (repeatable)")
    ap.add_argument("--edges", action="store_true", help="print the whole graph too")
    ap.add_argument("--src", default=None, help="the src/ directory (default: this repo's)")
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = args.src or os.path.join(repo, "src")
    base = os.path.dirname(os.path.abspath(src))

    def rel(p):
        return os.path.relpath(p, base)

    def allowed(p):
        return any(rel(p).startswith(prefix) for prefix in args.allow)

    lib, owner = find_crates(os.path.abspath(src))
    scans = {p: FileScan(p, c, m, lib).scan() for p, (c, m) in sorted(owner.items())}
    edges = {p: {t for t in s.arrows if not (allowed(p) or allowed(t))} for p, s in scans.items()}

    if args.edges:
        for p in sorted(edges):
            for t in sorted(edges[p]):
                print(f"{rel(p)} -> {rel(t)}")
        print()

    circles = [c for c in tarjan(edges.keys(), edges) if len(c) > 1]
    for n, component in enumerate(circles, 1):
        print(f"circle {n}: {len(component)} files")
        for p in component:
            print(f"  {rel(p)}")
        for p in component:
            for t in sorted(edges[p] & set(component)):
                why = scans[p].arrows[t]
                shown = ", ".join(f"{line}: {w}" for line, w in why[:3])
                more = f" (+{len(why) - 3} more)" if len(why) > 3 else ""
                print(f"    {rel(p)} -> {rel(t)}   [{shown}{more}]")
        print()
    allow = f" (arrows touching {', '.join(args.allow)} left out)" if args.allow else ""
    print(f"{len(scans)} files, {sum(len(e) for e in edges.values())} arrows, "
          f"{len(circles)} circle(s){allow}")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
