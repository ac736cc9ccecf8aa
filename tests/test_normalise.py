"""normalise: one mapping -> one Article (or the reasons it is left out)."""

from datetime import datetime, timezone
from pathlib import Path

from conftest import article_text
from feedsync.model import Severity
from feedsync.normalise import normalise, to_uri
from feedsync.reader import parse

P = Path("in/a.md")


def build(text: str, source: str = "a.md", max_chars: int = 10_000):
    fm = parse(text.encode("utf-8"), P)
    assert not hasattr(fm, "reason"), fm
    return normalise(fm, P, source, max_chars)


def reasons(problems, severity=None):
    return [p.reason for p in problems if severity is None or p.severity is severity]


def test_a_seed_style_article_becomes_an_article_without_problems():
    article, problems = build(article_text("Hello", topics=["AI"], images=[
        {"url": "https://img.example.com/a.jpg", "width": 10, "height": 5}]))
    assert problems == []
    assert article.title == "Hello" and article.published is True
    assert article.published_at == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert article.updated_at == article.published_at
    assert article.topics == ("AI",)
    assert article.provider.name == "Example News"
    assert article.images[0].width == 10


def test_the_id_survives_edits_restarts_and_a_new_extension_but_not_a_new_path():
    a, _ = build(article_text("One", excerpt="x"), source="news/a.md")
    b, _ = build(article_text("Two", excerpt="y", webUrl="https://other.example/x",
                              provider="Someone Else"), source="news/a.md")
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
    article, problems = build(article_text().replace(
        "'2024-05-01T12:00:00Z'", "'Wed, 01 May 2024 12:00:00 +0000'"))
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
    no_date = "\n".join(l for l in text.splitlines() if not l.startswith("publishedDateTime"))
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
