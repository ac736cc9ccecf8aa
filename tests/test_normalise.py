"""normalise: one mapping -> one Article (or the reasons it is left out)."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from feedsync.model import Severity
from feedsync.normalise import normalise, to_uri
from feedsync.reader import parse

from conftest import article_text

P = Path("in/a.md")


def build(text: str, source: str = "a.md", max_chars: int = 10_000):
    fm = parse(text.encode("utf-8"), P)
    assert not hasattr(fm, "reason"), fm
    return normalise(fm, P, source, max_chars)


def reasons(problems, severity=None):
    return [p.reason for p in problems if severity is None or p.severity is severity]


def test_a_seed_style_article_becomes_an_article_without_problems():
    article, problems = build(
        article_text(
            "Hello",
            topics=["AI"],
            images=[{"url": "https://img.example.com/a.jpg", "width": 10, "height": 5}],
        )
    )
    assert problems == []
    assert article.title == "Hello" and article.published is True
    assert article.published_at == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert article.updated_at == article.published_at
    assert article.topics == ("AI",)
    assert article.provider.name == "Example News"
    assert article.images[0].width == 10


def test_the_id_survives_edits_restarts_and_a_new_extension_but_not_a_new_path():
    a, _ = build(article_text("One", excerpt="x"), source="news/a.md")
    b, _ = build(
        article_text("Two", excerpt="y", webUrl="https://other.example/x", provider="Someone Else"),
        source="news/a.md",
    )
    c, _ = build(article_text("One"), source="news/a.markdown")
    d, _ = build(article_text("One"), source="news/b.md")
    assert a.id == b.id == c.id != d.id
    assert a.id.startswith("urn:uuid:")


def test_an_id_in_the_front_matter_wins():
    a, _ = build(article_text("One", id="story-42"), source="a.md")
    b, _ = build(article_text("One", id="story-42"), source="renamed.md")
    c, _ = build(article_text("One", id="tag:example.com,2024:42"), source="a.md")
    assert a.id == b.id
    assert c.id == "tag:example.com,2024:42"


def test_a_time_without_timezone_is_read_as_utc_and_reported():
    article, problems = build(article_text(time="12:00:00"))
    assert article.published_at == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert any("without a timezone" in r for r in reasons(problems, Severity.WARNING))


def test_offsets_are_converted_to_utc():
    article, _ = build(article_text(time="14:00:00+02:00"))
    assert article.published_at == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def test_rfc_2822_dates_are_understood():
    article, problems = build(
        article_text().replace("'2024-05-01T12:00:00Z'", "'Wed, 01 May 2024 12:00:00 +0000'")
    )
    assert article.published_at == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert problems == []


def test_an_impossible_date_is_an_error_on_its_line():
    article, problems = build(article_text(day="2023-02-30"))
    assert article is None
    [problem] = problems
    assert problem.line == 5 and "not a date" in problem.reason


def test_missing_title_or_link_or_date_keeps_the_file_out():
    assert build(article_text(title=""))[0] is None
    text = article_text()
    no_link = "\n".join(line for line in text.splitlines() if not line.startswith("webUrl"))
    article, problems = build(no_link + "\n")
    assert article is None and any("no usable link" in r for r in reasons(problems))
    no_date = "\n".join(
        line for line in text.splitlines() if not line.startswith("publishedDateTime")
    )
    assert build(no_date + "\n")[0] is None


def test_original_url_is_used_when_there_is_no_web_url():
    text = article_text().replace("webUrl:", "originalUrl:")
    article, problems = build(text)
    assert article.link.startswith("https://news.example.com/") and problems == []


def test_published_must_be_the_boolean_true():
    for value in ("true", "yes", 1):
        article, problems = build(article_text(published=value))
        assert article.published is False
        assert any("not true or false" in r for r in reasons(problems, Severity.WARNING))
    article, problems = build(article_text(published=None))
    assert article.published is False and any("no 'published'" in r for r in reasons(problems))


def test_mojibake_is_repaired_and_reported():
    article, problems = build(article_text("the industryâ€™s future"))
    assert article.title == "the industry\u2019s future"
    assert any("mojibake" in r for r in reasons(problems, Severity.WARNING))


def test_html_entities_are_decoded_to_text():
    article, _ = build(article_text("AT&amp;T", excerpt="We&#8217;re here &#8211; now"))
    assert article.title == "AT&T"
    assert article.summary == "We\u2019re here \u2013 now"


def test_characters_xml_forbids_are_removed_and_reported():
    article, problems = build(article_text("bad\x01title\x0b", excerpt="a\x00b"))
    assert article.title == "badtitle" and article.summary == "ab"
    assert any("XML does not allow" in r for r in reasons(problems, Severity.WARNING))


def test_markup_in_titles_is_kept_as_text():
    article, _ = build(article_text("<b>Bold</b> & ]]> <script>x</script>"))
    assert article.title == "<b>Bold</b> & ]]> <script>x</script>"


def test_overlong_fields_are_cut_with_a_warning():
    article, problems = build(article_text("t" * 50), max_chars=20)
    assert article.title == "t" * 20 and reasons(problems, Severity.WARNING)


def test_topics_are_deduplicated_by_name_and_a_single_name_is_a_list():
    article, _ = build(article_text(topics=["AI", "ai", "Open  Source"]))
    assert article.topics == ("AI", "Open Source")
    article, _ = build(article_text(topics="Robotics"))
    assert article.topics == ("Robotics",)


def test_the_secured_field_is_never_kept():
    article, _ = build(article_text())
    assert "c2VjcmV0" not in repr(article)


def test_urls_are_percent_encoded_and_non_http_is_refused():
    assert to_uri("https://example.com/künstliche intelligenz") is None
    assert to_uri("https://example.com/künstliche") == "https://example.com/k%C3%BCnstliche"
    assert to_uri("https://bücher.example/a") == "https://xn--bcher-kva.example/a"
    assert to_uri("javascript:alert(1)") is None
    assert to_uri("/relative/path") is None
    assert to_uri(42) is None


# --- control characters a terminal would obey (DEL, C1) -------------------------------------

TERMINAL_CONTROLS = [chr(c) for c in range(0x7F, 0xA0)]
# The C1 bytes Windows-1252 leaves undefined: ftfy has nothing to read them as.
UNMAPPED_C1 = ["\x81", "\x8d", "\x8f", "\x90", "\x9d"]


def line_of(text: str, key: str) -> int:
    return next(
        n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(f"{key}:")
    )


def no_terminal_control(text: str) -> bool:
    return not any(0x7F <= ord(c) <= 0x9F for c in text)


def controls_removed(problems) -> list[str]:
    return [r for r in reasons(problems, Severity.WARNING) if "control characters (DEL" in r]


@pytest.mark.parametrize("char", ["\x7f", *UNMAPPED_C1])
def test_del_and_c1_controls_are_dropped_from_every_text_field_with_a_warning_naming_it(char):
    text = article_text(
        f"Red{char}[31m title",
        excerpt=f"line{char}\none",
        topics=[f"A{char}I"],
        provider=f"Example{char} News",
    )
    article, problems = build(text)
    assert article.title == "Red[31m title"
    assert article.summary == "line\none"
    assert article.topics == ("AI",)
    assert article.provider.name == "Example News"
    warned = controls_removed(problems)
    assert sorted(warned) == sorted(
        f"removed control characters (DEL, U+0080-U+009F) from '{key}'"
        for key in ("title", "excerpt", "topics", "provider")
    )
    lines = {p.line for p in problems if p.reason in warned}
    assert lines == {line_of(text, k) for k in ("title", "excerpt", "topics", "provider")}


@pytest.mark.parametrize("char", TERMINAL_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_no_del_or_c1_control_survives_in_any_field(char):
    # Each end of the C1 range included: ftfy reads a C1 byte that Windows-1252 defines as that
    # character (U+0080 -> €, U+009B -> ›, U+009F -> Ÿ); what it cannot read is dropped.
    article, problems = build(
        article_text(f"a{char}b", excerpt=f"c{char}d", topics=[f"e{char}f"], provider=f"g{char}h")
    )
    fields = (article.title, article.summary, *article.topics, article.provider.name)
    assert all(no_terminal_control(value) for value in fields), fields
    if char == "\x7f" or char in UNMAPPED_C1:
        assert fields == ("ab", "cd", "ef", "gh")
        assert len(controls_removed(problems)) == 4
    elif char == "\x85":  # NEL: YAML reads it as a line break, folded to a space
        assert fields == ("a b", "c d", "e f", "g h")
        return
    else:
        meant = bytes([ord(char)]).decode("cp1252")
        assert fields == (f"a{meant}b", f"c{meant}d", f"e{meant}f", f"g{meant}h")
        assert len([r for r in reasons(problems, Severity.WARNING) if "mojibake" in r]) == 4
    for key in ("title", "excerpt", "topics", "provider"):
        assert any(f"'{key}'" in r for r in reasons(problems, Severity.WARNING)), key


def test_mojibake_holding_a_c1_byte_is_repaired_before_controls_are_dropped():
    # '”' in UTF-8 is E2 80 9D; read as Windows-1252, 0x9D has no character and stays U+009D.
    text = article_text("the â€œquoteâ€\x9d", topics=["â€œAIâ€\x9d"])
    article, problems = build(text)
    assert article.title == "the \u201cquote\u201d"
    assert article.topics == ("\u201cAI\u201d",)
    assert any("mojibake" in r for r in reasons(problems, Severity.WARNING))
    assert not controls_removed(problems)


def test_character_references_cannot_bring_a_c1_control_back():
    refs = "a&#x81;b&#129;c&#x9D;d&#127;e&#x7f;f&#155;g&#x9b;h&#x80;i&#159;j"
    article, problems = build(article_text(refs, excerpt=refs, topics=[refs], provider=refs))
    # html.unescape reads references to defined Windows-1252 bytes as those characters
    want = "abcdef\u203ag\u203ah\u20aci\u0178j"
    assert article.title == article.summary == article.topics[0] == article.provider.name == want
    assert len(controls_removed(problems)) == 4


def test_ordinary_non_ascii_text_is_untouched():
    # U+007E and U+00A1 sit either side of the range that is dropped.
    text = "Café Müller ~ ¡Olé! ß naïve 🚀🎉 東京の天気 한국어 Ÿ € ›"
    article, problems = build(article_text(text, excerpt=text, topics=[text], provider=text))
    assert problems == []
    assert article.title == article.summary == article.topics[0] == article.provider.name == text


def test_a_blank_topic_or_provider_name_is_ignored_with_a_warning_on_its_line():
    text = article_text(topics=["  ", "AI", "", "\t"], provider="   ")
    article, problems = build(text)
    assert article.topics == ("AI",) and article.provider is None
    blank_topics = [p for p in problems if p.reason.endswith("is blank; ignored")]
    assert [p.reason for p in blank_topics] == [
        "topic '  ' is blank; ignored",
        "topic '' is blank; ignored",
        "topic '\\t' is blank; ignored",
    ]
    assert {p.line for p in blank_topics} == {line_of(text, "topics")}
    [no_name] = [p for p in problems if "'provider' has no name" in p.reason]
    assert no_name.severity is Severity.WARNING and no_name.line == line_of(text, "provider")


def test_a_topic_of_nothing_but_control_characters_is_blank():
    article, problems = build(article_text(topics=["\x01\x7f\x81", "AI"]))
    assert article.topics == ("AI",)
    assert any("is blank; ignored" in r for r in reasons(problems, Severity.WARNING))


def test_control_characters_in_urls_are_percent_encoded_never_kept_raw():
    assert to_uri("https://example.com/a\x7fb") == "https://example.com/a%7Fb"
    assert to_uri("https://example.com/\x9b[31m?q=\x81#\x9f") == (
        "https://example.com/%C2%9B[31m?q=%C2%81#%C2%9F"
    )
    assert to_uri("https://exa\x9bmple.com/") is None  # not a host name (IDNA refuses it)
    assert to_uri("https://example.com/a\x01b") == "https://example.com/ab"  # C0: removed


def test_control_characters_in_an_id_are_dropped_as_in_text():
    a, _ = build(article_text(id="tag:example.com,2024:\x9b42\x7f"))
    b, _ = build(article_text(id="tag:example.com,2024:42"))
    assert a.id == b.id == "tag:example.com,2024:42"
