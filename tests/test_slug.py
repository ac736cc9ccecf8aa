"""slug: names compare like Hugo taxonomies; file names are safe and never collide."""

from feedsync.slug import assign, base_slug, key


def test_names_differing_in_case_and_spacing_share_a_key():
    assert key("Machine Learning") == key("machine  LEARNING") == key(" Machine\tLearning ")


def test_unicode_forms_share_a_key():
    assert key("Cafe\u0301") == key("Café")


def test_slugs_keep_letters_of_any_script_and_drop_separators():
    assert base_slug("Künstliche Intelligenz") == "künstliche-intelligenz"
    assert base_slug("../../etc/passwd") == "etc-passwd"
    assert base_slug("a\\b/c") == "a-b-c"
    assert base_slug("\x00") == "untitled"
    assert base_slug("🤖") == "untitled"


def test_symbols_that_carry_meaning_are_spelled_out():
    assert base_slug("C++") == "c-plus-plus"
    assert base_slug("C#") == "c-sharp"


def test_slugs_are_bounded():
    assert len(base_slug("ü" * 500).encode()) <= 96


def test_names_that_slug_alike_get_distinct_stable_files_and_a_note():
    slugs, notes = assign([key("AI Ethics"), key("AI-Ethics"), key("ai_ethics")])
    assert len(set(slugs.values())) == 3
    assert slugs[key("AI Ethics")] == "ai-ethics"
    assert len(notes) == 2
    again, _ = assign([key("ai_ethics"), key("AI-Ethics"), key("AI Ethics")])
    assert again == slugs


def test_reserved_windows_names_are_avoided():
    slugs, notes = assign(["con"])
    assert slugs["con"] != "con" and slugs["con"].startswith("con-") and notes
