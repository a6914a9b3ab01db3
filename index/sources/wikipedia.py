"""Wikipedia exports: articles converted to Markdown (pandoc), one file per article.

Their titles come from the file name in the article's own spelling, their URLs from the
folder's PROVENANCE.md pattern, and the wiki syntax conversion leaves behind (templates, wiki
links, image captions, reference marks, maintenance boxes, infobox parameters, the
"References" tail) is removed here; index/sources/markdown.py reads the rest as Markdown.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from index.sources.common import humanise_stem, smart_title

WIKIPEDIA_URL = "https://en.wikipedia.org/wiki/{title}"

BACK_MATTER = frozenset(
    {"see also", "references", "notes", "citations", "sources", "further reading", "external links"}
    | {"bibliography", "footnotes", "notes and references"}
)
MAINTENANCE = re.compile(r"Learn how and when to remove th(?:is|ese) (?:message|template)", re.I)
INFOBOX_PARAM = re.compile(r"(?:^|\|)\s*[a-z][a-z0-9_ ]{0,30}=(?:\s|$)")
TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
WIKI_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
FILE_LINK = re.compile(r"\[\[(?:File|Image):[^\[\]]*\]\]", re.I)
REF_MARK = re.compile(
    r"\[(?:\d{1,4}|citation needed|clarification needed|verification needed|dubious|"
    r"failed verification|when\?|who\?|which\?|by whom\?|according to whom\?|TABLE|edit)\]",
    re.I,
)
_LEADING_FILE = re.compile(r"^\S+\.(?:png|jpe?g|svg|gif|tiff?|webp)\s+", re.I)
_HTML_ATTRIBUTE = re.compile(
    r"(?<![\w-])(?:colspan|rowspan|style|class|align|valign|width|height|bgcolor|resource|scope|border|"
    r"cellpadding|cellspacing)\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s|]*)",
    re.I,
)


def title_from_stem(stem: str, text: str = "") -> str:
    """A title from a file name, using the article's own spelling when the name is lower case."""
    human = humanise_stem(stem)
    words = [w for w in re.split(r"[_\s-]+", stem) if w]
    if not words or any(c.isupper() for c in stem):
        return human
    phrase = r"[\s\-–]+".join(re.escape(w) for w in words)
    for pattern in (rf"\*\*({phrase})\*\*", rf"(?<!\w)({phrase})(?!\w)"):
        for m in re.finditer(pattern, text, re.I):
            found = " ".join(m.group(1).split())
            if any(c.isupper() for c in found[1:]):
                return found[0].upper() + found[1:]
    return smart_title(" ".join(words))


def article_url(template: str, title: str) -> str:
    """The article's URL from a pattern such as WIKIPEDIA_URL."""
    return template.format(title=quote(title.replace(" ", "_"), safe="_-().,'!:~"))


def drop_back_matter(paragraphs: list[str]) -> list[str]:
    """Cut a trailing 'See also' / 'References' / 'External links' part (in the second half)."""
    for i in range(len(paragraphs) // 2, len(paragraphs)):
        if paragraphs[i].strip().casefold() in BACK_MATTER:
            return paragraphs[:i]
    return paragraphs


def is_maintenance_box(text: str) -> bool:
    """True for a maintenance box ("This article needs additional citations ... Learn how ...")."""
    return MAINTENANCE.search(text) is not None


def is_infobox_line(line: str) -> bool:
    """True for a line of infobox parameters ("| image_caption = ... | pushpin_map = ...")."""
    return len(INFOBOX_PARAM.findall(line)) >= 2


def strip_wiki_markup(s: str) -> str:
    """Remove templates, wiki and file links, caption debris, table attributes and reference marks."""
    for _ in range(5):  # nested templates, innermost first
        s, n = TEMPLATE.subn("", s)
        if not n:
            break
    s = re.sub(r"\{\{.*$", "", s)  # an unclosed template runs to the end of the line
    s = FILE_LINK.sub("", s)
    s = WIKI_LINK.sub(r"\1", s)
    s = re.sub(r"\[\[(?:File|Image):.*$", "", s, flags=re.I)
    if "]]" in s or "}}" in s:  # the tail of an image caption or infobox pandoc left behind
        s = s[max(s.rfind("]]"), s.rfind("}}")) + 2 :]
    s = _LEADING_FILE.sub("", s)
    if "=" in s:
        s = _HTML_ATTRIBUTE.sub("", s)
    return REF_MARK.sub("", s)
