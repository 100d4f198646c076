"""Retry decisions as values: backoff, `Retry-After`, the run's budget, and stamina's loop."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from todosync.external import errors, resilience
from todosync.external.resilience import RetryBudget, RetryControl, RetryNote, RetryPolicy

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def _control(
    *, policy: RetryPolicy | None = None, budget_s: float = 60.0, may_retry: bool = True
) -> tuple[RetryControl, list[RetryNote]]:
    notes: list[RetryNote] = []
    policy = policy or RetryPolicy(max_attempts=5, wait_initial_s=0.1, wait_max_s=1.0)
    control = RetryControl(
        policy=policy,
        budget=RetryBudget(total_s=budget_s),
        method="GET",
        path="/todolists",
        may_retry=lambda: may_retry,
        on_retry=notes.append,
    )
    return control, notes


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    """Each wait is uniform between 0 and min(max, initial * base ** (n - 1))."""
    policy = RetryPolicy(wait_initial_s=0.1, wait_max_s=1.0, rng=random.Random(7))
    for retry_num, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (60, 1.0)]:
        waits = [policy.backoff_s(retry_num) for _ in range(200)]
        assert all(0.0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling * 0.8  # spread over the whole range, not a fixed step
        assert min(waits) < ceiling * 0.2


def test_backoff_survives_huge_attempt_numbers() -> None:
    """An overflowing exponent is clamped to the maximum wait."""
    policy = RetryPolicy(wait_initial_s=1.0, wait_max_s=2.0)
    assert 0.0 <= policy.backoff_s(100_000) <= 2.0


def test_budget_refuses_a_wait_that_does_not_fit_and_stays_spent() -> None:
    """The budget grants waits until one does not fit; after that it refuses everything."""
    budget = RetryBudget(total_s=1.0)
    assert budget.spend(0.6)
    assert not budget.spend(0.6)
    assert budget.exhausted
    assert not budget.spend(0.0)


@pytest.mark.parametrize(
    ("header", "server_date", "expected"),
    [
        ("3", None, 3.0),
        (" 0 ", None, 0.0),
        ("1.5", None, 1.5),
        ("-4", None, 0.0),
        ("Sat, 28 Nov 2026 12:00:07 GMT", None, 7.0),
        ("Sat, 28 Nov 2026 11:59:00 GMT", None, 0.0),
        # Measured against the answer's own Date: a server 300 s ahead still means 2 s.
        ("Sat, 28 Nov 2026 12:05:02 GMT", datetime(2026, 11, 28, 12, 5, 0, tzinfo=UTC), 2.0),
        ("soon", None, None),
        ("nan", None, None),
        (None, None, None),
    ],
)
def test_retry_after_in_both_forms(
    header: str | None, server_date: datetime | None, expected: float | None
) -> None:
    """`Retry-After` is read as delta-seconds or as an HTTP-date; anything else is ignored."""
    assert resilience.parse_retry_after(header, server_date=server_date, now=NOW) == expected


def test_transient_failures_are_retried_with_backoff() -> None:
    """A `TransientError` is retried after a jittered wait, and the retry is reported."""
    control, notes = _control()
    wait = control(errors.TransientError("GET /todolists: HTTP 503", status=503))
    assert isinstance(wait, float)
    assert 0.0 <= wait <= 0.1
    assert notes == [
        RetryNote(
            method="GET",
            path="/todolists",
            retry_num=1,
            wait_s=wait,
            cause="TransientError",
            status=503,
            from_retry_after=False,
        )
    ]


@pytest.mark.parametrize(
    "exc",
    [
        errors.PermanentError("x", status=400),
        errors.NotFound("x", status=404),
        errors.AuthenticationError("x", status=401),
        errors.AmbiguousWrite("x", status=500),
        errors.InvalidResponse("x"),
        ValueError("a bug"),
    ],
)
def test_other_failures_are_never_retried(exc: Exception) -> None:
    """Only `TransientError` is retried: 4xx, ambiguous writes, bad bodies and bugs are not."""
    control, notes = _control()
    assert control(exc) is False
    assert notes == []


def test_retry_after_is_honoured_and_capped() -> None:
    """The server's wait is used as is, up to the cap."""
    control, notes = _control(policy=RetryPolicy(retry_after_cap_s=10.0))
    assert control(errors.TransientError("x", status=429, retry_after_s=4.0)) == 4.0
    assert control(errors.TransientError("x", status=429, retry_after_s=3600.0)) == 10.0
    assert [note.from_retry_after for note in notes] == [True, True]


def test_attempts_are_capped_by_the_policy() -> None:
    """After `max_attempts` failures the call is not retried."""
    control, _ = _control(policy=RetryPolicy(max_attempts=3, wait_max_s=0.0))
    exc = errors.TransientError("x")
    assert [control(exc) is not False for _ in range(3)] == [True, True, False]


def test_exhausted_budget_ends_retries_and_marks_the_error() -> None:
    """A wait that does not fit the run's budget ends the retries, and the error says so."""
    control, notes = _control(budget_s=5.0)
    assert control(errors.TransientError("x", retry_after_s=3.0)) == 3.0
    exc = errors.TransientError("x", retry_after_s=3.0)
    assert control(exc) is False
    assert exc.budget_exhausted
    assert "retry budget" in str(exc)
    assert len(notes) == 1


def test_no_retry_when_the_caller_forbids_it() -> None:
    """A half-open probe (or a circuit opened meanwhile) is not retried."""
    control, _ = _control(may_retry=False)
    assert control(errors.Unreachable("x")) is False


async def test_retrying_runs_stamina_until_success() -> None:
    """`retrying` retries a transient failure and returns the later success."""
    outcomes: list[Exception | str] = [errors.TransientError("x"), errors.Unreachable("y"), "ok"]
    control, notes = _control()

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert await resilience.retrying(attempt, control=control) == "ok"
    assert [note.cause for note in notes] == ["TransientError", "Unreachable"]


async def test_retrying_reports_the_attempts_on_the_final_error() -> None:
    """When retries run out, the last error is raised with the number of attempts made."""
    control, _ = _control(policy=RetryPolicy(max_attempts=3, wait_max_s=0.0))

    async def attempt() -> str:
        raise errors.TransientError("GET /todolists: HTTP 500", status=500)

    with pytest.raises(errors.TransientError) as caught:
        await resilience.retrying(attempt, control=control)
    assert caught.value.attempts == 3
    assert str(caught.value) == "GET /todolists: HTTP 500 (after 3 attempts)"
