"""The browser harness itself: it finds a real problem and passes a clean page."""
import pytest

from tests.browser import page_problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_the_home_page_has_no_layout_problems(browser, live_server):
    page = browser.new_page()
    assert page_problems(page, live_server.url + "/") == []


def test_it_reports_overflow_broken_images_and_script_errors(browser, live_server, tmp_path):
    html = tmp_path / "bad.html"
    html.write_text('<html><body><div style="width:3000px">wide</div><img src="missing.png">'
                    '<script>undefined_function()</script></body></html>')
    problems = page_problems(browser.new_page(), html.as_uri(), widths=(375,))
    text = "\n".join(problems)
    assert "page is" in text and "image did not load" in text and "JavaScript error" in text
