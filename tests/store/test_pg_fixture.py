"""How the test suite gets its PostgreSQL: a server of yours, one it starts, or one clear skip (a failure in CI)."""

from __future__ import annotations

from tests.classroom.pg import missing_programs, pg_server_module, server_plan


def test_a_server_named_in_the_environment_is_used_as_it_is() -> None:
    url = "postgresql+psycopg://quiz@127.0.0.1:5432/postgres"
    assert server_plan(url, [], ci=False) == ("use", url)
    assert server_plan(url, ["initdb"], ci=True) == ("use", url)


def test_installed_programs_mean_a_server_is_started() -> None:
    assert server_plan(None, [], ci=False) == ("start", "")
    assert server_plan(None, [], ci=True) == ("start", "")


def test_without_postgresql_the_tests_skip_with_one_reason_and_fail_in_ci() -> None:
    plan, why = server_plan(None, ["initdb", "pg_ctl"], ci=False)
    assert plan == "skip"
    assert "PostgreSQL is not installed (initdb, pg_ctl not found" in why and "apt-get install postgresql" in why
    plan, why_ci = server_plan(None, ["initdb", "pg_ctl"], ci=True)
    assert plan == "fail" and why_ci.startswith(why) and "CI=true: .ci/run must provide it" in why_ci
    assert server_plan("", ["postgres"], ci=False)[0] == "skip"  # an empty QUIZ_TEST_PG_URL is no server


def test_missing_programs_are_looked_for_where_pg_server_looks() -> None:
    server = pg_server_module()
    found = missing_programs(server)
    assert set(found) <= {"initdb", "pg_ctl", "postgres"}
    for name in {"initdb", "pg_ctl", "postgres"} - set(found):
        assert server.pg_bin(name).endswith(name)
