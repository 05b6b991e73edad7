"""A TA's path through report.html in a real (headless) browser: read the named mistake, follow
a student's link to their feedback page, and read there why a check failed."""

import pytest
from test_report import NO_MEAN, graded_package, mistaken, stubs

from grading import autograde as ag
from grading import report
from grading.results import SubmissionResult

pytestmark = pytest.mark.slow


def visible(element):
    """An element's text as the browser shows it, whitespace collapsed."""
    return " ".join(element.text.split())


def test_a_ta_follows_a_named_mistake_to_the_students_feedback_page(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    results = [
        graded_package("alice", mistaken(NO_MEAN), tmp_path / "work"),
        graded_package("erin", stubs(), tmp_path / "work"),
    ]
    out = tmp_path / "grades"
    out.mkdir()
    ag.write_reports(
        [SubmissionResult.from_dict(r) for r in results], out
    )  # grades.json and feedback/<student>.html, as autograde does
    report.write_report(results, out)
    wait = WebDriverWait(browser, 30)

    browser.get((out / "report.html").as_uri())
    mistakes = browser.find_element(By.ID, "mistakes")
    row = mistakes.find_element(By.CSS_SELECTOR, "tr.named")
    assert row.find_element(By.CSS_SELECTOR, ".mistake-id").text == NO_MEAN.name
    assert f"{NO_MEAN.name}: {NO_MEAN.diagnosis}" in visible(row)
    assert "NotImplementedError" not in visible(mistakes)  # erin's stubs are no mistake
    row.find_element(By.LINK_TEXT, "alice").click()
    wait.until(lambda b: b.current_url.endswith("/feedback/alice.html"))
    assert browser.title == "Feedback: alice"
    assert "Feedback for alice" in visible(browser.find_element(By.TAG_NAME, "h1"))
    check = browser.find_element(
        By.XPATH, "//tr[td[1][normalize-space()='cs_loss:svm_vectorized_reg_grad']]"
    )
    assert f"known mistake `{NO_MEAN.name}`: {NO_MEAN.diagnosis}" in visible(check)

    browser.back()
    wait.until(lambda b: b.current_url.endswith("/report.html"))
    browser.find_element(By.ID, "not-attempted").find_element(By.LINK_TEXT, "erin").click()
    wait.until(lambda b: b.current_url.endswith("/feedback/erin.html"))
    assert browser.title == "Feedback: erin"
    check = browser.find_element(
        By.XPATH, "//tr[td[1][normalize-space()='cs_loss:svm_vectorized_reg_grad']]"
    )
    assert "NotImplementedError: svm_loss_vectorized: see the TODO above" in visible(check)
