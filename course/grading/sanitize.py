"""What a student's notebook may show an instructor: no script, ever, in any page that renders it.

The formgrader's submission page, the feedback pages and the autograded notebook all render what the
student's notebook holds (markdown cells, raw cells, attachments) and what the student's code printed
when the grader ran it (outputs of every kind). Those pages are served from the instructor's own Jupyter
server, so a ``<script>`` or an ``<img onerror>`` in any of them runs as the instructor: it can read and
write every file through ``/api/contents``. nbgrader renders them with nbconvert's HTML templates, which
pass raw HTML in markdown, ``text/html`` and ``text/markdown`` outputs, ``application/javascript``
outputs (as a ``<script>``) and even unquoted output metadata (``width=...``) straight into the page.

:class:`SanitizeSubmission` rewrites a notebook so that nothing in it can run:

- **markdown cells** (and ``text/markdown`` outputs) that are plain markdown are kept byte for byte
  (``a < b``, code spans, math: mistune escapes all of it). A cell with raw HTML, a link that is not
  ``http(s)``/``mailto``/``#anchor``, an image that is not an attachment, a ``data:`` picture or a plain
  relative path, a ``mermaid`` block (nbconvert copies its body into the page unescaped) or a heading whose
  anchor would clash with the grading page's own ids is rendered with nbconvert's own markdown renderer,
  cleaned with `nh3 <https://nh3.readthedocs.io>`_ (the ammonia HTML sanitizer) and stored as one
  HTML block, which renders the same;
- **raw cells** meant for HTML are cleaned with nh3;
- **attachments** keep PNG, JPEG and GIF pictures only (others become an empty picture);
- **outputs** keep ``text/plain``, ``text/latex``, PNG/JPEG/GIF pictures, and ``text/html`` and
  ``text/markdown`` cleaned as above; SVG, JavaScript, widget views and every other kind are removed with
  a ``text/plain`` note that says so. Output metadata keeps numeric ``width``/``height``, ``unconfined``
  and a text ``alt`` only (no ``isolated`` iframe, no ``filenames``);
- **notebook metadata** loses its widget state; ``execution_count`` must be a number;
- in the formgrader's page the student's id, names and notebook path are HTML-escaped (they come from
  the submission's folder name and are printed into the page unescaped).

The HTML allow-list (:data:`TAGS`, :data:`ATTRIBUTES`) has text formatting, lists, tables, pictures and
links; no ``script``, ``style``, ``iframe``, ``object``, ``embed``, ``form``, ``input``, ``svg`` or ``math``;
no event handler attributes; ``style`` attributes keep a few harmless properties (no ``position``, no
``url()``); classes only those nbconvert's own renderers use; ids are prefixed with ``user-content-``.
Links go to ``http(s)``/``mailto``/``#anchors`` only (a relative link could open a student's HTML file,
which the formgrader serves from the same origin); pictures come from ``data:`` PNG/JPEG/GIF/WebP or a
plain relative path (no ``/``, no ``..``: nothing that reaches the server's other URLs; nothing fetched
from the internet either).

``nbgrader_config.py`` runs it last in ``Autograde.autograde_preprocessors`` (after the grades are saved),
first in ``GenerateFeedback.preprocessors``, and in ``HTMLExporter.preprocessors``, which the formgrader
uses to render each submission (so a notebook autograded before this existed is safe too).
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import re
from collections.abc import Iterable
from urllib.parse import unquote

import nh3
from nbgrader.preprocessors import NbGraderPreprocessor
from pygments.token import STANDARD_TYPES

__all__ = ["SanitizeSubmission", "sanitize_html", "sanitize_markdown", "sanitize_output", "sanitize_notebook",
           "removed_note", "TAGS", "ATTRIBUTES", "REMOVED_NOTE"]

#: Tags kept (with their content). Anything else is dropped; its text stays, escaped.
TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp",
    "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "var", "wbr",
})
#: Tags removed together with everything inside them.
CLEAN_CONTENT_TAGS = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "template",
    "noscript", "noembed", "noframes", "xmp", "plaintext", "title", "textarea", "select", "option", "button",
    "head", "meta", "link", "base",
})
#: Attributes kept, per tag ("*": every tag). No event handlers, no ``srcset``, ``formaction``, ``target``.
ATTRIBUTES = {
    "*": {"title", "lang", "dir", "id", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"}, "colgroup": {"span"},
    "ol": {"start", "type"}, "li": {"value"},
    "table": {"border"},
    "details": {"open"},
    "abbr": {"title"},
}
#: CSS properties a ``style`` attribute keeps (no ``position``, ``background``, ``content``, ``url()``).
STYLE_PROPERTIES = frozenset({
    "text-align", "vertical-align", "color", "background-color", "font-weight", "font-style", "font-size",
    "text-decoration", "white-space", "padding", "padding-left", "padding-right", "padding-top",
    "padding-bottom", "border", "border-collapse", "width", "min-width", "max-width", "list-style",
    "list-style-type", "margin-left",
})
#: Classes kept: those nbconvert's renderers, pygments and pandas emit, and this module's marker.
ALLOWED_CLASSES = {
    "div": {"highlight", "course-sanitized"},
    "span": {c for c in STANDARD_TYPES.values() if c},
    "a": {"anchor-link"},
    "table": {"dataframe"},
    "li": {"task-list-item"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})
ID_PREFIX = "user-content-"
MARKER = '<div class="course-sanitized">'

#: Data-only kinds that no page renders as markup: removed without a note.
QUIET_MIMETYPES = frozenset({"application/json", "application/vnd.dataresource+json"})
REMOVED_NOTE = "[output removed for safety: {kinds}]"
#: How the note names what it removed (other kinds are "other data": a vendor's name says nothing to a reader).
KIND_NAMES = {"application/javascript": "JavaScript", "text/javascript": "JavaScript",
              "application/vnd.jupyter.widget-view+json": "a widget", "image/svg+xml": "an SVG image"}
#: Ids the grading pages use themselves (a student's element with the same id would capture them).
PAGE_IDS = frozenset({"notebook", "notebook-container", "statusmessage", "top", "toc", "main-table"})

_PICTURE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
_BAD_CSS = ("expression", "url(", "javascript:", "\\", "@import", "behavior", "binding", "image(", "image-set")
_PICTURE_MIMETYPES = ("image/png", "image/jpeg", "image/gif")
# A 1x1 transparent PNG: what an attachment that is not a picture becomes (its references still render).
_EMPTY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
_PLAIN_TOKENS = frozenset({
    "paragraph", "text", "emphasis", "strong", "codespan", "linebreak", "softbreak", "link", "image", "heading",
    "block_text", "block_code", "block_quote", "list", "list_item", "task_list_item", "thematic_break",
    "blank_line", "strikethrough", "table", "table_head", "table_body", "table_row", "table_cell", "def_list",
    "def_list_head", "def_list_item", "block_math", "inline_math", "latex_environment", "multiline_math",
})


# -- URLs ------------------------------------------------------------------------------------------------

def _url(value: str) -> str:
    """A URL as a browser reads it: entities decoded, control characters and spaces removed."""
    return _CONTROL.sub("", html.unescape(value or ""))


def href_ok(value: str) -> bool:
    """A link may go to an ``#anchor``, an ``http(s)`` page or a ``mailto:`` address, nothing else."""
    url = _url(value)
    if url.startswith("#"):
        return True
    scheme = _SCHEME.match(url)
    return bool(scheme) and scheme.group(1).lower() in ("http", "https", "mailto")


def src_ok(value: str) -> bool:
    """A picture may be a ``data:`` PNG/JPEG/GIF/WebP, or a plain relative path inside the submission.

    No scheme (no ``javascript:``, no internet), no absolute path and no ``..``: a picture cannot make
    the instructor's browser request another URL of the server (``/logout``, ``/api/...``).
    """
    url = _url(value)
    if _SCHEME.match(url):
        return bool(_PICTURE.fullmatch(url))
    path = unquote(url)
    return (bool(path) and not path.startswith("/") and "\\" not in path and not _SCHEME.match(path)
            and ".." not in re.split(r"[/?#]", path))


def _attribute_filter(reserved: frozenset[str]):
    def check(element: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            if not href_ok(value):
                return None
            url = _url(value)
            if url.startswith("#") and not url.startswith("#" + ID_PREFIX):
                return "#" + ID_PREFIX + url[1:]
            return value
        if attribute == "src":
            return value if element == "img" and src_ok(value) else None
        if attribute in ("width", "height"):
            return value if re.fullmatch(r"\d{1,4}%?", value.strip()) else None
        if attribute == "style":  # nh3 keeps only STYLE_PROPERTIES; no value may call anything either
            compact = re.sub(r"/\*.*?\*/|\s", "", value.lower(), flags=re.DOTALL)
            return None if any(word in compact for word in _BAD_CSS) else value
        if attribute == "id":
            bare = value[len(ID_PREFIX):] if value.startswith(ID_PREFIX) else value
            return None if bare in reserved or not bare.strip() else value
        return value
    return check


# -- HTML ------------------------------------------------------------------------------------------------

def sanitize_html(source: str, reserved_ids: Iterable[str] = ()) -> str:
    """``source`` with only :data:`TAGS` and :data:`ATTRIBUTES` left (nh3), links and pictures checked."""
    if not isinstance(source, str):
        source = "".join(source) if isinstance(source, list) else str(source)
    return nh3.clean(
        source,
        tags=set(TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_attribute_filter(frozenset(reserved_ids)),
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
        url_schemes=set(URL_SCHEMES),
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        filter_style_properties=set(STYLE_PROPERTIES),
        id_prefix=ID_PREFIX,
    )


# -- markdown --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _parser():
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    return MarkdownWithMath(renderer=None)  # keeps no state between documents


def _parse(source: str) -> list[dict]:
    """``source`` as the markdown tokens nbconvert's renderer would see (same parser, same plugins)."""
    return _parser()(source)


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """``source`` as nbconvert's HTML exporter renders a markdown cell (raw HTML passed through as is)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, attachments=dict(attachments or {}), anchor_link_text="¶")
    return MarkdownWithMath(renderer=renderer).render(source)


def _plain(tokens: list[dict], attachments: dict) -> bool:
    """True when the markdown has nothing but markdown (every tag in the page comes from the renderer)."""
    for token in tokens:
        kind = token.get("type")
        if kind not in _PLAIN_TOKENS:
            return False
        url = (token.get("attrs") or {}).get("url", "")
        if kind == "link" and not href_ok(url):
            return False
        if kind == "image":
            name = url[len("attachment:"):] if url.startswith("attachment:") else None
            if name is not None and name not in attachments or name is None and not src_ok(url):
                return False
        if kind == "block_code" and "mermaid" in str((token.get("attrs") or {}).get("info", "")).lower():
            return False
        if not _plain(token.get("children") or [], attachments):
            return False
    return True


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "", html.unescape(text))


def _raw_text(token: dict) -> str:
    return str(token.get("raw", "")) + "".join(_raw_text(t) for t in token.get("children") or [])


@functools.lru_cache(maxsize=64)
def _reserved_letters(reserved: frozenset[str]) -> frozenset[str]:
    return frozenset(_letters(name) for name in reserved)


def _may_take(tokens: list[dict], reserved: frozenset[str]) -> bool:
    """Whether a heading could take one of the ``reserved`` ids (its anchor is its text): a test before rendering."""
    names = _reserved_letters(reserved)
    for token in tokens:
        if token.get("type") == "heading" and _letters(_raw_text(token)) in names:
            return True
        if token.get("children") and _may_take(token["children"], reserved):
            return True
    return False


def _one_html_block(source: str) -> bool:
    """True when markdown takes all of ``source`` as one HTML block (passed to the page as it is)."""
    try:
        tokens = [t for t in _parse(source) if t.get("type") != "blank_line"]
    except Exception:  # noqa: BLE001 - anything the parser trips on is not a safe block
        return False
    return (len(tokens) == 1 and tokens[0].get("type") == "block_html"
            and tokens[0].get("raw", "").rstrip("\n") == source.rstrip("\n"))


def _without_blank_lines(markup: str) -> str:
    """The same HTML with no blank line, so markdown keeps it one HTML block (a blank line would end it).

    A blank line's characters and the line break after it become character references (``&#10;``),
    which the browser reads back as the same text, in ``<pre>`` too.
    """
    out: list[str] = []
    pending = ""
    for line in markup.strip("\n").split("\n"):
        if not line.strip():
            pending += "".join(f"&#{ord(ch)};" for ch in line) + "&#10;"
            continue
        out.append(pending + line)
        pending = ""
    return "\n".join(out)


def _fenced(source: str) -> str:
    """The fallback: the source shown as text, in a fenced code block (which markdown always escapes)."""
    longest = max((len(run) for run in re.findall(r"`+|~+", source)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"*This answer's HTML could not be shown safely; its text:*\n\n{fence}\n{source}\n{fence}\n"


def sanitize_markdown(source: str, attachments: dict | None = None, reserved_ids: Iterable[str] = ()) -> str:
    """Markdown that renders without anything able to run, as close to ``source`` as that allows.

    Plain markdown is returned unchanged. Otherwise the result is nbconvert's rendering of ``source``,
    cleaned by :func:`sanitize_html`, as one HTML block (readable in the page, not in the ``.ipynb``).
    """
    if not isinstance(source, str):
        source = "".join(source) if isinstance(source, list) else str(source)
    attachments = attachments or {}
    reserved = frozenset(reserved_ids)
    try:
        tokens = _parse(source)
    except Exception:  # noqa: BLE001
        return _fenced(source)
    if _plain(tokens, attachments):
        if not _may_take(tokens, reserved):
            return source
        try:  # a heading's anchor must not take an id the grading page uses (``q1``, ``q1-comment``)
            ids = set(re.findall(r'\sid="([^"]*)"', render_markdown(source, attachments)))
        except Exception:  # noqa: BLE001
            return _fenced(source)
        if not ids & reserved:
            return source
    elif source.startswith(MARKER) and _one_html_block(source):
        if _without_blank_lines(sanitize_html(source, reserved)) == source:
            return source  # already sanitized (this function's own output)
    try:
        rendered = render_markdown(source, attachments)
    except Exception:  # noqa: BLE001 - e.g. a missing attachment: show the text instead of failing the page
        return _fenced(source)
    cleaned = _without_blank_lines(sanitize_html(f"{MARKER}\n{rendered.strip()}\n</div>", reserved))
    return cleaned if _one_html_block(cleaned) else _fenced(source)


# -- outputs, attachments, cells -------------------------------------------------------------------------

def _text(value) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def _picture(value) -> str | None:
    """Base64 picture data, or None when it is not base64."""
    text = _text(value)
    if text is None:
        return None
    compact = re.sub(r"\s", "", text)
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return compact


def _output_metadata(metadata, kept: Iterable[str]) -> dict:
    """Only what the templates may use, in a shape that cannot break out of an attribute."""

    def clean(entry) -> dict:
        out: dict = {}
        if not isinstance(entry, dict):
            return out
        for key in ("width", "height"):
            value = entry.get(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, (int, float)) and 0 <= value < 100_000:
                out[key] = int(value)
            elif isinstance(value, str) and re.fullmatch(r"\d{1,5}", value.strip()):
                out[key] = int(value.strip())
        if isinstance(entry.get("unconfined"), bool):
            out["unconfined"] = entry["unconfined"]
        if isinstance(entry.get("alt"), str):
            out["alt"] = entry["alt"][:500]
        return out

    metadata = metadata if isinstance(metadata, dict) else {}
    out = clean(metadata)
    for mimetype in kept:
        if mimetype.startswith("image/") and isinstance(metadata.get(mimetype), dict):
            entry = clean(metadata[mimetype])
            if entry:
                out[mimetype] = entry
    return out


def sanitize_output(output: dict, reserved_ids: Iterable[str] = ()) -> list[str]:
    """Clean one output in place; the kinds removed (e.g. ``application/javascript``)."""
    from nbformat import NotebookNode

    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text"))
        output["text"] = text if text is not None else ""
        return []
    if kind == "error":
        output["ename"] = str(output.get("ename", ""))
        output["evalue"] = str(output.get("evalue", ""))
        traceback = output.get("traceback")
        output["traceback"] = [str(line) for line in traceback] if isinstance(traceback, list) else []
        return []
    if kind not in ("display_data", "execute_result"):
        output.clear()
        output.update(output_type="stream", name="stdout", text=removed_note(["an unknown output"]))
        return [f"output {kind}"]
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept: dict = {}
    removed: list[str] = []
    for mimetype, value in data.items():
        if mimetype in ("text/plain", "text/latex"):
            text = _text(value)
            if text is not None:
                kept[mimetype] = text
                continue
        elif mimetype == "text/html":
            text = _text(value)
            if text is not None:
                kept[mimetype] = sanitize_html(text, reserved_ids)
                continue
        elif mimetype == "text/markdown":
            text = _text(value)
            if text is not None:
                kept[mimetype] = sanitize_markdown(text, None, reserved_ids)
                continue
        elif mimetype in _PICTURE_MIMETYPES:
            picture = _picture(value)
            if picture is not None:
                kept[mimetype] = picture
                continue
        if mimetype not in QUIET_MIMETYPES:
            removed.append(mimetype)
    if removed:
        note = removed_note(removed)
        kept["text/plain"] = f"{kept['text/plain']}\n{note}" if kept.get("text/plain") else note
    elif not kept:
        kept["text/plain"] = ""
    output["data"] = NotebookNode(kept)
    output["metadata"] = NotebookNode(_output_metadata(output.get("metadata"), kept))
    if kind == "execute_result" and not isinstance(output.get("execution_count"), int):
        output["execution_count"] = None
    return removed


def removed_note(kinds: Iterable[str]) -> str:
    """The ``text/plain`` note for removed output kinds: ``[output removed for safety: JavaScript]``."""
    names = sorted({KIND_NAMES.get(kind, "other data") for kind in kinds})
    return REMOVED_NOTE.format(kinds=", ".join(names))


def _attachments(attachments) -> dict:
    """Pictures only: any other attachment becomes an empty PNG (a reference to it must still render)."""
    from nbformat import NotebookNode

    out = {}
    for name, bundle in (attachments or {}).items() if isinstance(attachments, dict) else ():
        kept = {}
        for mimetype in _PICTURE_MIMETYPES:
            picture = _picture(bundle.get(mimetype)) if isinstance(bundle, dict) else None
            if picture is not None:
                kept[mimetype] = picture
        out[str(name)] = NotebookNode(kept or {"image/png": _EMPTY_PNG})
    return NotebookNode(out)


def reserved_ids(nb) -> frozenset[str]:
    """The ids the formgrader and feedback pages give their own elements for this notebook."""
    ids = set(PAGE_IDS)
    for cell in nb.get("cells", []):
        grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if isinstance(grade_id, str) and grade_id:
            ids |= {grade_id, f"{grade_id}-comment", f"{grade_id}_extra_credit", f"comment-{grade_id}"}
    return frozenset(ids)


def sanitize_cell(cell: dict, reserved: Iterable[str] = ()) -> dict:
    """Clean one cell in place; counts of what changed: ``{"sources": n, "outputs": n, "removed": [...]}``."""
    changed = {"sources": 0, "outputs": 0, "removed": []}
    if "attachments" in cell:
        cleaned = _attachments(cell.get("attachments"))
        if cleaned != cell.get("attachments"):
            changed["sources"] += 1
        cell["attachments"] = cleaned
    source = _text(cell.get("source"))
    source = source if source is not None else ""
    kind = cell.get("cell_type")
    new = source
    if kind == "markdown":
        new = sanitize_markdown(source, cell.get("attachments"), reserved)
    elif kind == "raw":
        mimetype = str(cell.get("metadata", {}).get("raw_mimetype") or cell.get("metadata", {}).get("format") or "")
        mimetype = mimetype.lower()
        if "markdown" in mimetype:
            new = sanitize_markdown(source, None, reserved)
        elif not mimetype or any(word in mimetype for word in ("html", "svg", "xml", "javascript")):
            new = sanitize_html(source, reserved)
    elif kind == "code":
        count = cell.get("execution_count")
        cell["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
        for output in cell.get("outputs", []) or []:
            before = repr(output)
            changed["removed"] += sanitize_output(output, reserved)
            changed["outputs"] += repr(output) != before
    if new != source:
        changed["sources"] += 1
    cell["source"] = new
    return changed


def sanitize_notebook(nb) -> dict:
    """Clean a whole notebook in place (see the module's docstring); a summary of what changed."""
    reserved = reserved_ids(nb)
    summary = {"sources": 0, "outputs": 0, "removed": []}
    metadata = nb.get("metadata", {})
    for key in [k for k in metadata if "widget" in str(k).lower()]:
        del metadata[key]
        summary["removed"].append(f"metadata.{key}")
    for cell in nb.get("cells", []):
        changed = sanitize_cell(cell, reserved)
        summary["sources"] += changed["sources"]
        summary["outputs"] += changed["outputs"]
        summary["removed"] += changed["removed"]
    return summary


_SAFE_ID = re.compile(r"[A-Za-z0-9_.\-]+")


def _escape_page_values(nb, resources: dict) -> None:
    """The formgrader's page prints the student's id, names and notebook path unescaped: escape them.

    Only for the formgrader (its resources carry ``submission_id``), once.
    """
    if "submission_id" not in resources or resources.get("course_escaped"):
        return
    for key in ("student", "first_name", "last_name", "notebook_path"):
        if isinstance(resources.get(key), str):
            resources[key] = html.escape(resources[key], quote=True)
    for cell in nb.get("cells", []):  # grade ids come from the gradebook; any other would go into id="..."
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and "grade_id" in meta and not _SAFE_ID.fullmatch(str(meta["grade_id"])):
            meta["grade_id"] = html.escape(str(meta["grade_id"]), quote=True)
    resources["course_escaped"] = True


class SanitizeSubmission(NbGraderPreprocessor):
    """Remove everything that could run in the instructor's browser from a student's notebook.

    See :mod:`course.grading.sanitize`. Safe to run more than once (its output is left as it is).
    """

    def preprocess(self, nb, resources):
        summary = sanitize_notebook(nb)
        if resources is not None:
            _escape_page_values(nb, resources)
            resources["course_sanitize"] = summary
        if summary["sources"] or summary["outputs"] or summary["removed"]:
            name = (resources or {}).get("metadata", {}).get("name", "notebook")
            self.log.info("Sanitized %s: %d cell sources, %d outputs changed; removed: %s", name,
                          summary["sources"], summary["outputs"], ", ".join(sorted(set(summary["removed"]))) or "-")
        return nb, resources


def configured_pipeline(config, converter: str, trait: str) -> list:
    """The preprocessors ``config`` gives ``converter.trait`` (nbgrader's default when it gives none), without
    :class:`SanitizeSubmission` (so ``nbgrader_config.py`` can place it, once, wherever it belongs)."""
    section = config[converter] if converter in config else {}
    value = section.get(trait) if hasattr(section, "get") else None
    if not isinstance(value, (list, tuple)):
        from nbgrader import converters

        value = getattr(converters, converter).class_traits()[trait].default()
    return [p for p in value if p is not SanitizeSubmission
            and p != f"{SanitizeSubmission.__module__}.{SanitizeSubmission.__name__}"]
