"""config: the settings file a user writes, checked in full before anything runs.

Real files in tmp_path and the real `config.load`/`config.salvage`, as `feedsync --config` reads
them. Messages are ours, so tests may look for their words.
"""

from pathlib import Path

import pytest

from feedsync import config
from feedsync.config import Config
from feedsync.errors import FeedsyncError

from conftest import ROOT


def settings_file(folder: Path, text: str) -> Path:
    path = folder / "feedsync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(folder: Path, text: str, **overrides: object) -> Config:
    return config.load(settings_file(folder, text), overrides)


def refusal(folder: Path, text: str, **overrides: object) -> str:
    """The one-line message `load` refuses the file with."""
    with pytest.raises(FeedsyncError) as exc:
        load_text(folder, text, **overrides)
    assert exc.value.exit_code == 2
    message = str(exc.value)
    assert "\n" not in message  # cli prints it as one line
    return message


# -- the file ---------------------------------------------------------------------------------


def test_without_a_file_every_setting_has_its_default():
    assert config.load(None) == Config()
    assert config.load(None, {}) == Config()


def test_an_empty_file_or_one_of_only_comments_means_the_defaults(tmp_path):
    assert load_text(tmp_path, "") == Config()
    assert load_text(tmp_path, "# nothing set yet\n\n") == Config()


def test_the_settings_in_the_file_are_used(tmp_path):
    cfg = load_text(
        tmp_path,
        "content_dir: articles\n"
        "output_dir: /srv/feeds\n"
        "site_title: My news\n"
        "max_items: 10\n"
        "patterns: ['*.md']\n"
        "poll_seconds: 2\n"
        "watcher: polling\n"
        "log_format: json\n"
        "cache: false\n"
        "serve: 127.0.0.1:9000\n",
    )
    assert cfg.content_dir == Path("articles") and cfg.output_dir == Path("/srv/feeds")
    assert cfg.site_title == "My news" and cfg.max_items == 10
    assert cfg.patterns == ("*.md",)
    assert cfg.poll_seconds == 2.0 and isinstance(cfg.poll_seconds, float)
    assert cfg.watcher == "polling" and cfg.log_format == "json"
    assert cfg.cache is False and cfg.serve == "127.0.0.1:9000"


def test_unknown_keys_are_errors_all_reported_at_once(tmp_path):
    path = settings_file(
        tmp_path, "base_url: /feeds/\nmax_items: 0\nbogus: 1\nsite_tilte: Typo\nwatcher: fast\n"
    )
    with pytest.raises(FeedsyncError) as exc:
        config.load(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: bad configuration: ")
    assert "bogus: unknown setting" in message and "site_tilte: unknown setting" in message
    assert "(known: " in message and "site_title" in message  # says what was meant
    assert "base_url" in message and "absolute http(s) URL" in message
    assert "max_items: expected a positive whole number, got 0" in message
    assert "watcher: 'fast' is not one of auto, native, polling" in message


def test_a_missing_file_says_how_to_name_one(tmp_path):
    with pytest.raises(FeedsyncError, match="configuration file not found") as exc:
        config.load(tmp_path / "nope.yaml")
    assert "--config PATH" in str(exc.value) and exc.value.exit_code == 2


def test_a_file_that_is_not_yaml_is_refused_in_one_line(tmp_path):
    message = refusal(tmp_path, "site_title: [broken\nmax_items: 3\n")
    assert "not valid YAML" in message


def test_a_file_that_is_not_a_mapping_of_settings_is_refused(tmp_path):
    message = refusal(tmp_path, "- content_dir\n- output_dir\n")
    assert "expected a mapping of settings, got list" in message


def test_a_file_that_cannot_be_read_is_a_configuration_error(tmp_path):
    path = tmp_path / "feedsync.yaml"
    path.write_bytes(b"site_title: caf\xe9\n")  # Latin-1, not UTF-8
    with pytest.raises(FeedsyncError, match="cannot read configuration") as exc:
        config.load(path)
    assert exc.value.exit_code == 2
    with pytest.raises(FeedsyncError, match="cannot read configuration"):
        config.load(tmp_path)  # a folder


# -- overrides and paths ----------------------------------------------------------------------


def test_an_override_counts_only_when_given(tmp_path):
    text = "content_dir: from-file\noutput_dir: out-from-file\n"
    kept = load_text(tmp_path, text, content_dir=None, output_dir=None, cache=None)
    assert kept.content_dir == Path("from-file") and kept.output_dir == Path("out-from-file")
    assert kept.cache is True
    won = load_text(tmp_path, text, output_dir=tmp_path / "given", cache=False)
    assert won.output_dir == tmp_path / "given" and won.content_dir == Path("from-file")
    assert won.cache is False


def test_overrides_are_checked_like_the_file(tmp_path):
    message = refusal(tmp_path, "max_items: 0\n", log_format="yaml")
    assert "log_format: 'yaml' is not one of text, json" in message and "max_items" in message


def test_relative_paths_are_from_the_current_directory_not_the_files_folder(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    path = settings_file(tmp_path / "config", "content_dir: articles\noutput_dir: public\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = config.load(path)
    assert cfg.content_dir.absolute() == elsewhere / "articles"
    assert cfg.output_dir.absolute() == elsewhere / "public"


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["/feeds/", "ftp://example.com/", "example.com/feeds", "42"])
def test_base_url_must_be_an_absolute_http_url(tmp_path, value):
    message = refusal(tmp_path, f"base_url: {value}\n")
    assert "base_url: " in message and "absolute http(s) URL" in message


def test_urls_get_a_trailing_slash_so_feed_paths_join_under_them(tmp_path):
    cfg = load_text(
        tmp_path, "base_url: https://example.com/feeds\nsite_url: https://example.com/news\n"
    )
    assert cfg.base_url == "https://example.com/feeds/"
    assert cfg.site_url == "https://example.com/news/"


def test_a_websub_hub_is_checked_and_kept_exactly_as_written(tmp_path):
    cfg = load_text(tmp_path, "websub_hub: https://hub.example.net/publish?x=1\n")
    assert cfg.websub_hub == "https://hub.example.net/publish?x=1"
    assert "websub_hub" in refusal(tmp_path, "websub_hub: hub.example.net\n")
    assert load_text(tmp_path, "websub_hub: null\nsite_url: null\n") == Config()


def test_feeds_link_to_the_site_url_else_to_the_base_url(tmp_path):
    assert Config(base_url="https://f.example/").home_url == "https://f.example/"
    cfg = load_text(tmp_path, "base_url: https://f.example/\nsite_url: https://www.example\n")
    assert cfg.home_url == "https://www.example/"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("localhost:0", ("localhost", 0)),  # port 0: any free port
        ("[::1]:8080", ("::1", 8080)),
        ("0.0.0.0:65535", ("0.0.0.0", 65535)),
    ],
)
def test_an_address_to_serve_on_is_host_and_port(text, expected):
    assert config.parse_bind(text) == expected


@pytest.mark.parametrize(
    "text", ["8080", ":8080", "localhost", "localhost:", "localhost:http", "host:65536", "h:-1"]
)
def test_an_address_without_host_or_valid_port_is_refused(text):
    assert config.parse_bind(text) is None


def test_serve_must_be_host_and_port(tmp_path):
    message = refusal(tmp_path, "serve: 8080\n")
    assert "serve: 8080 is not HOST:PORT (for example 127.0.0.1:8080)" in message
    assert load_text(tmp_path, "serve: '[::1]:0'\n").serve == "[::1]:0"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("max_items", "0"),
        ("max_items", "-3"),
        ("max_items", "2.5"),
        ("max_items", "'10'"),
        ("max_items", "true"),  # YAML's true is not a count
        ("max_file_bytes", "0"),
        ("max_field_chars", "null"),
        ("reconcile_seconds", "0"),
        ("debounce_ms", "-1"),
        ("debounce_ms", "60001"),
        ("poll_seconds", "0"),
        ("poll_seconds", "false"),
        ("poll_seconds", "'1'"),
    ],
)
def test_numbers_out_of_range_or_of_the_wrong_kind_are_refused(tmp_path, setting, value):
    assert f"{setting}: expected" in refusal(tmp_path, f"{setting}: {value}\n")


def test_numbers_at_the_edges_of_their_range_are_accepted(tmp_path):
    cfg = load_text(tmp_path, "debounce_ms: 0\nmax_items: 1\npoll_seconds: 0.05\n")
    assert (cfg.debounce_ms, cfg.max_items, cfg.poll_seconds) == (0, 1, 0.05)
    assert load_text(tmp_path, "debounce_ms: 60000\n").debounce_ms == 60000


def test_the_watcher_and_log_format_are_one_of_their_choices(tmp_path):
    for watcher in config.WATCHERS:
        assert load_text(tmp_path, f"watcher: {watcher}\n").watcher == watcher
    for log_format in config.LOG_FORMATS:
        assert load_text(tmp_path, f"log_format: {log_format}\n").log_format == log_format
    message = refusal(tmp_path, "watcher: inotify\nlog_format: xml\n")
    assert "watcher: 'inotify'" in message and "log_format: 'xml'" in message


@pytest.mark.parametrize("value", ["[]", "'*.md'", "['']", "[1]", "null"])
def test_patterns_must_be_a_non_empty_list_of_texts(tmp_path, value):
    assert "patterns: expected a non-empty list of texts" in refusal(
        tmp_path, f"patterns: {value}\n"
    )


def test_a_pattern_given_twice_counts_once_in_the_order_given(tmp_path):
    cfg = load_text(tmp_path, "patterns: ['*.txt', '*.md', '*.txt']\n")
    assert cfg.patterns == ("*.txt", "*.md")


def test_the_site_title_is_trimmed_and_must_not_be_blank(tmp_path):
    assert load_text(tmp_path, "site_title: '  My news  '\n").site_title == "My news"
    for value in ("''", "'   '", "null", "42"):
        assert "site_title: expected a non-empty text" in refusal(
            tmp_path, f"site_title: {value}\n"
        )


def test_cache_is_true_or_false(tmp_path):
    assert load_text(tmp_path, "cache: false\n").cache is False
    for value in ("1", "sometimes", "null"):
        assert "cache: expected true or false" in refusal(tmp_path, f"cache: {value}\n")


@pytest.mark.parametrize("setting", ["content_dir", "output_dir", "status_file", "cache_file"])
def test_a_path_setting_must_name_a_path(tmp_path, setting):
    for value in ("''", "'  '", "7", "[a, b]"):
        assert f"{setting}: expected a folder path" in refusal(tmp_path, f"{setting}: {value}\n")


def test_content_and_output_folders_cannot_be_null_but_the_optional_files_can(tmp_path):
    assert "content_dir: expected a folder path" in refusal(tmp_path, "content_dir: null\n")
    cfg = load_text(tmp_path, "status_file: null\ncache_file: null\n")
    assert cfg.status_file is None and cfg.cache_file is None


# -- where things go --------------------------------------------------------------------------


def test_an_output_folder_that_holds_the_content_is_refused(tmp_path):
    site = tmp_path / "site"
    for output in (site, tmp_path):
        with pytest.raises(FeedsyncError, match="holds the content folder") as exc:
            config.load(None, {"content_dir": site / "articles", "output_dir": output})
        assert "Choose a separate folder" in str(exc.value)
    with pytest.raises(FeedsyncError, match="holds the content folder"):
        config.load(None, {"content_dir": site, "output_dir": site})


def test_an_output_folder_inside_the_content_folder_is_allowed(tmp_path):
    """The walk skips it (tests/test_scan.py), so feeds are never read back as articles."""
    cfg = config.load(None, {"content_dir": tmp_path, "output_dir": tmp_path / "out"})
    assert cfg.output_dir == tmp_path / "out"


def test_the_cache_file_is_kept_out_of_the_content_and_output_folders(tmp_path):
    folders = {"content_dir": tmp_path / "in", "output_dir": tmp_path / "out"}
    for inside in (tmp_path / "in/cache.sqlite3", tmp_path / "out/sub/cache.sqlite3"):
        with pytest.raises(FeedsyncError, match="cache_file: .* is inside the content or output"):
            config.load(None, {**folders, "cache_file": inside})
    beside = config.load(None, {**folders, "cache_file": tmp_path / "cache.sqlite3"})
    assert beside.cache_file == tmp_path / "cache.sqlite3"


def test_the_status_file_setting_says_where_the_daemon_keeps_its_status(tmp_path):
    cfg = load_text(tmp_path, f"status_file: {tmp_path / 'daemon.json'}\n")
    assert cfg.status_path == tmp_path / "daemon.json"


def test_by_default_the_status_is_in_the_state_folder_named_by_the_output_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    here = config.load(None, {"output_dir": "out"}).status_path
    assert here.parent == tmp_path / "state/feedsync" and here.name.endswith(".status.json")
    assert config.load(None, {"output_dir": tmp_path / "out"}).status_path == here  # same folder
    assert config.load(None, {"output_dir": tmp_path / "other"}).status_path != here
    assert not here.is_relative_to(tmp_path / "out")  # reportable when the output is not writable


def test_the_state_folder_is_under_xdg_state_home_else_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert config.state_folder() == tmp_path / "state/feedsync"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.state_folder() == tmp_path / "home/.local/state/feedsync"
    monkeypatch.setenv("XDG_STATE_HOME", "")  # set but empty counts as unset
    assert config.state_folder() == tmp_path / "home/.local/state/feedsync"


# -- salvage: what `feedsync status --config` reads of a file `load` refuses -------------------


def test_a_broken_config_file_still_yields_what_it_can_for_status(tmp_path):
    path = settings_file(
        tmp_path,
        f"output_dir: {tmp_path / 'public'}   # where the feeds go\n"
        f"status_file: '{tmp_path / 'daemon.json'}'\n"
        "patterns: ['*.md', [broken\n"
        "  indented: ignored\n",
    )
    with pytest.raises(FeedsyncError, match="not valid YAML"):
        config.load(path)
    cfg = config.salvage(path)
    assert cfg.output_dir == tmp_path / "public"
    assert cfg.status_path == tmp_path / "daemon.json"
    assert cfg.patterns == Config().patterns  # a line that is no valid setting is dropped


def test_salvage_keeps_each_valid_setting_and_gives_the_rest_their_defaults(tmp_path):
    path = settings_file(
        tmp_path, f"output_dir: {tmp_path / 'public'}\nmax_items: 0\nbogus: 1\nwatcher: fast\n"
    )
    with pytest.raises(FeedsyncError):
        config.load(path)
    cfg = config.salvage(path)
    assert cfg.output_dir == tmp_path / "public"
    assert cfg.max_items == Config().max_items and cfg.watcher == Config().watcher


def test_salvage_of_a_missing_or_unreadable_file_is_the_defaults_and_the_overrides(tmp_path):
    assert config.salvage(tmp_path / "gone.yaml") == Config()
    assert config.salvage(tmp_path) == Config()  # a folder
    given = config.salvage(tmp_path / "gone.yaml", {"output_dir": tmp_path / "o", "cache": None})
    assert given == Config(output_dir=tmp_path / "o")


def test_salvage_lets_the_command_line_win_over_the_broken_file(tmp_path):
    path = settings_file(tmp_path, "output_dir: from-file\nsite_title: [broken\n")
    assert config.salvage(path, {"output_dir": tmp_path / "given"}).output_dir == (
        tmp_path / "given"
    )


def test_a_broken_copy_of_the_sample_config_still_finds_the_default_status(tmp_path):
    sample = (ROOT / "config/feedsync.yaml").read_text()
    path = settings_file(tmp_path, sample + "site_title: [broken\n")
    assert config.salvage(path).status_path == Config().status_path


def test_the_icon_is_an_absolute_url_and_the_image_type_an_image_media_type(tmp_path):
    cfg = load_text(tmp_path, "icon: https://www.example.com/icon.png\nimage_type: image/webp\n")
    assert (cfg.icon, cfg.image_type) == ("https://www.example.com/icon.png", "image/webp")
    assert config.load(None).image_type == "image/jpeg" and config.load(None).icon is None
    assert "icon" in refusal(tmp_path, "icon: icon.png\n")
    assert "image_type: expected an image media type" in refusal(
        tmp_path, "image_type: video/mp4\n"
    )
