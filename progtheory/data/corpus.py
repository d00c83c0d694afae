"""Text corpora as lists of documents: the embedded default, a text file, or a folder.

A *document* is the unit of the train/validation split (a speech, a chapter, a play), so
validation never shares a document with training.

Corpus specs accepted by `load_corpus`:
  * ``"default"``: the embedded corpus `progtheory/data/corpus/default.jsonl.xz` (State of
    the Union addresses, Jane Austen, Moby Dick, Shakespeare; see PROVENANCE.md there).
  * a ``.txt`` file: split into documents of `paragraphs_per_doc` consecutive paragraphs
    (paragraphs are separated by blank lines).  A file without blank lines groups
    `paragraphs_per_doc` lines instead, and a file that is one long line becomes one
    document per chunk of at most `CHUNK_CHARS` characters, cut after a space.  Document
    ids are ``<file stem>/<index>``; ids, and so the split, stay put when text is appended.
  * a ``.jsonl`` or ``.jsonl.xz`` file in the default corpus's format (one
    {"id", "source", "title", "text"} object per line).
  * a folder: every ``*.txt`` file below it is one document, in sorted path order, with id
    = path relative to the folder without the suffix.  Empty files are skipped.

Files are read as UTF-8 with universal newlines (CRLF -> LF); no other normalisation.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import lzma
import re
from dataclasses import dataclass
from pathlib import Path

from progtheory.config import ConfigError

DEFAULT_RESOURCE = "default.jsonl.xz"
PARAGRAPHS_PER_DOC = 20
CHUNK_CHARS = 8192

_USAGE = ('pass corpus="default" (the embedded corpus), a UTF-8 .txt file, a .jsonl/.jsonl.xz '
          'file of {"id", "source", "title", "text"} objects, or a folder of .txt files')


@dataclass(frozen=True)
class Document:
    id: str
    source: str
    title: str
    text: str


def load_corpus(spec: str = "default", *, paragraphs_per_doc: int = PARAGRAPHS_PER_DOC) -> list[Document]:
    """Documents of the corpus named by `spec` (see the module docstring), in a fixed order.

    Raises ConfigError naming the path when it is missing, unreadable, not UTF-8 or empty.
    """
    if paragraphs_per_doc < 1:
        raise ConfigError(f"paragraphs_per_doc={paragraphs_per_doc} must be >= 1")
    if spec == "default":
        return list(_default_documents())
    path = Path(spec).expanduser()
    if not path.exists():
        raise ConfigError(f"corpus path {str(path)!r} does not exist; {_USAGE}")
    if path.is_dir():
        docs = _load_folder(path)
    elif path.name.endswith((".jsonl", ".jsonl.xz")):
        raw = _read_bytes(path)
        try:
            text = (lzma.decompress(raw) if path.name.endswith(".xz") else raw).decode("utf-8")
        except (lzma.LZMAError, UnicodeDecodeError) as e:
            raise ConfigError(f"corpus file {str(path)!r} is not UTF-8 JSON lines ({e}); {_USAGE}") from None
        docs = _read_jsonl(text, str(path))
    else:
        docs = _split_text(_read_text(path), path.stem, paragraphs_per_doc)
    if not docs:
        raise ConfigError(f"corpus {str(path)!r} holds no text; {_USAGE}")
    return docs


@functools.lru_cache(maxsize=1)
def _default_documents() -> tuple[Document, ...]:
    """The embedded corpus, decompressed once per process (it ships with the package and
    never changes while the process runs; decompressing takes about a second)."""
    ref = importlib.resources.files("progtheory.data").joinpath("corpus", DEFAULT_RESOURCE)
    with ref.open("rb") as f:
        return tuple(_read_jsonl(lzma.decompress(f.read()).decode("utf-8"), DEFAULT_RESOURCE))


def corpus_fingerprint(docs: list[Document]) -> str:
    """sha256 (hex) of the documents' ids, sources, titles and texts, in order."""
    h = hashlib.sha256()
    for d in docs:
        for field in (d.id, d.source, d.title, d.text):
            b = field.encode("utf-8")
            h.update(len(b).to_bytes(8, "little"))
            h.update(b)
    return h.hexdigest()


# ----------------------------------------------------------------------------- readers

def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"corpus file {str(path)!r} cannot be read ({e.strerror}); {_USAGE}") from None


def _read_text(path: Path) -> str:
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"corpus file {str(path)!r} is not UTF-8 (byte {e.start}); "
                          f"convert it, e.g. with iconv -t UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_jsonl(text: str, where: str) -> list[Document]:
    docs = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            docs.append(Document(str(rec["id"]), str(rec.get("source", "")),
                                 str(rec.get("title", "")), str(rec["text"])))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ConfigError(f"corpus {where!r} line {lineno} is not a JSON object with "
                              f"'id' and 'text' ({e}); {_USAGE}") from None
    return docs


def _load_folder(root: Path) -> list[Document]:
    files = sorted(p for p in root.rglob("*.txt") if p.is_file())
    if not files:
        raise ConfigError(f"corpus folder {str(root)!r} contains no .txt files; {_USAGE}")
    docs = []
    for p in files:
        text = _read_text(p)
        if text.strip():
            rel = p.relative_to(root).with_suffix("").as_posix()
            docs.append(Document(rel, root.name, p.stem, text))
    return docs


def _split_text(text: str, stem: str, paragraphs_per_doc: int) -> list[Document]:
    """Group consecutive paragraphs (or lines, or whitespace-cut chunks) into documents."""
    glue, per_doc = "\n\n", paragraphs_per_doc
    units = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if len(units) < 2:
        glue, units = "\n", [ln for ln in text.split("\n") if ln.strip()]
    if len(units) < 2:
        glue, per_doc, units = "", 1, _chunks(text.strip(), CHUNK_CHARS)
    groups = [units[i:i + per_doc] for i in range(0, len(units), per_doc)]
    return [Document(f"{stem}/{i:05d}", stem, f"{stem} part {i}", glue.join(g))
            for i, g in enumerate(groups)]


def _chunks(text: str, size: int) -> list[str]:
    out, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut + 1 if cut > 0 else end
        out.append(text[start:end])
        start = end
    return [c for c in out if c.strip()]
