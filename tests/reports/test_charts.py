import xml.etree.ElementTree as ET

from reports.charts import ChartSeries, bar_chart, format_value, line_chart, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quoted"'


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_line_chart_has_title_axis_labels_units_legend_and_text_equivalent():
    # given two series over three weeks, one week without data
    svg = line_chart(
        chart_id="rate",
        title="Escalation rate",
        description="Share of new tickets escalated.",
        x_labels=["02 Nov", "09 Nov", "16 Nov"],
        series=[ChartSeries("Escalation rate", [10.0, None, 30.0]), ChartSeries("First contact", [50.0, 40.0, 45.0])],
        x_title="Week starting (UTC)",
        y_title="Rate",
        unit="%",
    )
    root = ET.fromstring(svg)  # noqa: S314
    # then it is an accessible image with a title and a description that summarises the data
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "rate-title rate-desc"
    assert root.find(f"{SVG}title").text == "Escalation rate"
    desc = root.find(f"{SVG}desc").text
    assert desc.startswith("Share of new tickets escalated. From 02 Nov to 16 Nov.")
    assert "Escalation rate: from 10.0% to 30.0%, latest 30.0%." in desc
    texts = _texts(svg)
    # the visible title, axis titles with units, tick labels and both legend entries
    assert "Escalation rate" in texts
    assert "Week starting (UTC)" in texts
    assert "Rate (per cent)" in texts
    assert {"02 Nov", "09 Nov", "16 Nov", "0%", "20%"} <= set(texts)
    assert "First contact" in texts
    # the gap breaks the line: series 1 is two lone points (markers only), series 2 one polyline
    assert svg.count("<polyline") == 1
    # and the second series is dashed, so the lines differ in greyscale too
    assert 'stroke-dasharray="9 5"' in svg


def test_stacked_bars_use_a_pattern_per_series_and_count_ticks():
    svg = stacked_bar_chart(
        chart_id="by type",
        title="Escalations by type",
        description="Per week.",
        x_labels=["02 Nov", "09 Nov"],
        series=[ChartSeries("Technical", [1, 2]), ChartSeries("Compliance", [0, 1])],
        x_title="Week starting (UTC)",
        y_title="Escalations",
        unit="count",
    )
    # then each series has its own fill pattern (with the unsafe chart id cleaned) and a legend swatch using it
    assert '<pattern id="by-type-p0"' in svg and '<pattern id="by-type-p1"' in svg
    assert svg.count('fill="url(#by-type-p1)"') == 2  # one bar + one legend swatch
    assert "Escalations (count)" in _texts(svg)
    assert "Technical: 3 in total." in svg
    assert "<title>Compliance, 09 Nov: 1</title>" in svg


def test_every_label_is_escaped():
    # given hostile text in every place a label can go
    svg = bar_chart(
        chart_id='x" onload="alert(1)',
        title=HOSTILE,
        description=HOSTILE,
        x_labels=[HOSTILE],
        series=[ChartSeries(HOSTILE, [3])],
        x_title=HOSTILE,
        y_title=HOSTILE,
        unit="count",
    )
    # then no markup gets through and the document is still well-formed
    assert "<script" not in svg
    assert 'onload="' not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quoted&quot;" in svg
    _texts(svg)


def test_an_empty_chart_says_so():
    svg = line_chart(
        chart_id="empty",
        title="Nothing",
        description="",
        x_labels=["02 Nov"],
        series=[ChartSeries("Rate", [None])],
        x_title="Week",
        y_title="Rate",
        unit="%",
    )
    assert "No data for this period" in _texts(svg)
    assert "Rate: no data." in svg


def test_format_value():
    assert [format_value(12.345, "%"), format_value(3.25, "hours"), format_value(1200, "count")] == [
        "12.3%",
        "3.2 h",
        "1,200",
    ]
    assert format_value(None, "%") == "no data"
