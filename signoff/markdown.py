"""Text from data made safe for Markdown: it renders as the same words, never as markup.

Names and reasons come from inventory files and check messages; a `|` would shift a
table's columns and `<script>` would stay live where Markdown is turned into HTML. HTML's
own characters become entities (as Jinja2's autoescape does for the HTML report),
Markdown's punctuation is backslash-escaped, and a line break becomes a space.
"""

from __future__ import annotations

import re

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# The punctuation that starts markup inline or in a table (links and images need `[`,
# emphasis `*` and `_`, code `` ` ``, cells `|`, headings `#`, strikethrough `~`).
_PUNCTUATION = re.compile(r"([\\`*_\[\]|#~])")


def escape(text: object) -> str:
    """`a|b <script>` -> `a\\|b &lt;script&gt;`: literal in a paragraph or a table cell."""
    value = "".join(_HTML.get(c, c) for c in str(text))
    value = _PUNCTUATION.sub(r"\\\1", value)
    return " ".join(value.split())
