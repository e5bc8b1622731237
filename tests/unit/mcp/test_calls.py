"""The call path every tool shares (``Caller.invoke``), on small tools of the test's own:
arguments, pages and cursors, cut documents, preview and confirm, and the write rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from tasker_ctl.errors import UsageError
from tasker_ctl.mcp.calls import Caller
from tasker_ctl.mcp.sizing import size_of
from tasker_ctl.mcp.spec import ToolArguments, ToolContext, ToolSpec, ToolTier, WriteArguments


class EchoArguments(ToolArguments):
    text: str
    count: int = 1


class Echoed(BaseModel):
    echoed: list[str]


class Big(BaseModel):
    text: str
    rows: list[dict[str, str]]


class Counter:
    """A write tool's target: a number that only the tool changes."""

    def __init__(self) -> None:
        self.value = 0


class AddArguments(WriteArguments):
    amount: int


class Added(BaseModel):
    value: int


def _echo(arguments: EchoArguments, _context: ToolContext) -> Echoed:
    if arguments.text == "fail":
        raise UsageError("told to fail", hint="say something else")
    if arguments.text == "crash":
        raise RuntimeError("a bug")
    return Echoed(echoed=[f"{arguments.text}{index}" for index in range(arguments.count)])


ECHO = ToolSpec(
    name="echo",
    title="Echo",
    description="Echo a text count times.",
    tier=ToolTier.OFFLINE,
    arguments=EchoArguments,
    output=Echoed,
    run=_echo,
    cli="tasker-ctl echo --json",
    pages="echoed",
)
BIG = ToolSpec(
    name="big",
    title="Big",
    description="A document too big to send whole.",
    tier=ToolTier.OFFLINE,
    arguments=EchoArguments,
    output=Big,
    run=lambda arguments, _c: Big(
        text="x" * 50_000, rows=[{"n": str(n) * 20} for n in range(arguments.count)]
    ),
    cli="tasker-ctl big --json",
)


def _adder(counter: Counter) -> ToolSpec:
    def run(arguments: AddArguments, _context: ToolContext) -> Added:
        counter.value += arguments.amount
        return Added(value=counter.value)

    return ToolSpec(
        name="add",
        title="Add",
        description="Add to the counter.",
        tier=ToolTier.WRITE,
        arguments=AddArguments,
        output=Added,
        run=run,
        cli="tasker-ctl add --json",
        read_only=False,
        idempotent=False,
        preview=lambda arguments, _c: Added(value=counter.value + arguments.amount),
        state_of=lambda _a, _c: str(counter.value),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _caller(tmp_path: Path, clock: Clock, *, allow_write: bool = True, limit: int = 0) -> Caller:
    caller = Caller(ToolContext(project_root=tmp_path, allow_write=allow_write), clock=clock)
    if limit:
        caller.limit = limit
    return caller


def test_an_answer_is_the_function_s_document(tmp_path: Path, clock: Clock) -> None:
    answer = _caller(tmp_path, clock).invoke(ECHO, {"text": "a", "count": 2})
    assert not answer.is_error
    assert answer.document == {"echoed": ["a0", "a1"]}


def test_every_argument_problem_comes_back_at_once_with_its_path(
    tmp_path: Path, clock: Clock
) -> None:
    answer = _caller(tmp_path, clock).invoke(ECHO, {"count": "many", "colour": "red"})
    assert answer.is_error
    error = answer.document["error"]
    assert error["code"] == "TOOL_ARGUMENTS_INVALID"
    assert {problem["path"] for problem in error["problems"]} == {"text", "count", "colour"}


def test_a_coded_error_keeps_its_code_message_and_hint(tmp_path: Path, clock: Clock) -> None:
    answer = _caller(tmp_path, clock).invoke(ECHO, {"text": "fail"})
    assert answer.document == {
        "error": {"code": "USAGE_ERROR", "message": "told to fail", "hint": "say something else"}
    }


def test_a_bug_is_an_internal_error_without_its_traceback(tmp_path: Path, clock: Clock) -> None:
    answer = _caller(tmp_path, clock).invoke(ECHO, {"text": "crash"})
    assert answer.is_error
    assert answer.document["error"]["code"] == "INTERNAL_ERROR"
    assert "a bug" not in str(answer.document)


def test_a_long_list_comes_in_pages_whose_cursors_walk_all_of_it(
    tmp_path: Path, clock: Clock
) -> None:
    caller = _caller(tmp_path, clock, limit=2000)
    seen: list[str] = []
    arguments: dict[str, object] = {"text": "item", "count": 500}
    answer = caller.invoke(ECHO, arguments)
    pages = 0
    while True:
        pages += 1
        assert size_of(answer.document) <= 2000
        seen.extend(answer.document["echoed"])
        cursor = answer.document["page"]["next_cursor"]
        if cursor is None:
            break
        answer = caller.invoke(ECHO, {**arguments, "cursor": cursor})
        assert not answer.is_error, answer.document
    assert seen == [f"item{index}" for index in range(500)]
    assert pages >= 3


def test_a_cursor_for_other_arguments_or_made_up_is_refused(tmp_path: Path, clock: Clock) -> None:
    caller = _caller(tmp_path, clock, limit=2000)
    first = caller.invoke(ECHO, {"text": "item", "count": 500})
    cursor = first.document["page"]["next_cursor"]
    for arguments in (
        {"text": "other", "count": 500, "cursor": cursor},
        {"text": "item", "count": 500, "cursor": cursor[:-4] + "0000"},
        {"text": "item", "count": 500, "cursor": "not a cursor"},
        {"text": "item", "count": 500, "cursor": "abc." + "é" * 40},
        {"text": "item", "count": 500, "cursor": 12},
    ):
        answer = caller.invoke(ECHO, arguments)
        assert answer.document["error"]["code"] == "CURSOR_INVALID"


def test_a_document_too_big_is_cut_and_says_what_was_cut(tmp_path: Path, clock: Clock) -> None:
    answer = _caller(tmp_path, clock).invoke(BIG, {"text": "x", "count": 3000})
    document = answer.document
    assert size_of(document) <= Caller(ToolContext(project_root=tmp_path)).limit
    paths = {cut["path"]: cut for cut in document["cut"]["paths"]}
    assert paths["/rows"]["total"] == 3000
    assert paths["/rows"]["kept"] == len(document["rows"])
    assert document["cut"]["hint"] == "the whole document: tasker-ctl big --json"


def test_a_write_is_a_preview_then_a_confirm_with_its_token(tmp_path: Path, clock: Clock) -> None:
    counter = Counter()
    add = _adder(counter)
    caller = _caller(tmp_path, clock)
    preview = caller.invoke(add, {"amount": 5, "reason": "more"})
    assert preview.document["status"] == "preview"
    assert preview.document["preview"] == {"value": 5}
    assert counter.value == 0
    token = preview.document["token"]
    done = caller.invoke(add, {"amount": 5, "reason": "more", "confirm": True, "token": token})
    assert done.document == {"value": 5}
    assert counter.value == 5


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("no token", "CONFIRMATION_INVALID"),
        ("forged", "CONFIRMATION_INVALID"),
        ("not ascii", "CONFIRMATION_INVALID"),
        ("other arguments", "CONFIRMATION_INVALID"),
        ("other reason", "CONFIRMATION_INVALID"),
        ("used", "CONFIRMATION_STALE"),
        ("expired", "CONFIRMATION_STALE"),
        ("target changed", "CONFIRMATION_STALE"),
        ("other server", "CONFIRMATION_INVALID"),
    ],
)
def test_a_confirm_that_does_not_match_its_preview_changes_nothing(
    tmp_path: Path, clock: Clock, change: str, code: str
) -> None:
    counter = Counter()
    add = _adder(counter)
    caller = _caller(tmp_path, clock)
    arguments: dict[str, object] = {"amount": 5, "reason": "more"}
    token = caller.invoke(add, arguments).document["token"]
    confirm: dict[str, object] = {**arguments, "confirm": True, "token": token}
    if change == "no token":
        del confirm["token"]
    elif change == "forged":
        confirm["token"] = token.split(".")[0] + "." + "0" * 40
    elif change == "not ascii":
        confirm["token"] = token.split(".")[0] + ".é" + "0" * 39
    elif change == "other arguments":
        confirm["amount"] = 500
    elif change == "other reason":
        confirm["reason"] = "another reason"
    elif change == "used":
        assert not caller.invoke(add, confirm).is_error
    elif change == "expired":
        clock.now += 601
    elif change == "target changed":
        counter.value = 1
    elif change == "other server":
        caller = _caller(tmp_path, clock)
    before = counter.value
    answer = caller.invoke(add, confirm)
    assert answer.is_error
    assert answer.document["error"]["code"] == code
    assert counter.value == before


def test_without_allow_write_a_write_tool_changes_nothing(tmp_path: Path, clock: Clock) -> None:
    counter = Counter()
    caller = _caller(tmp_path, clock, allow_write=False)
    for arguments in ({"amount": 1, "reason": "r"}, {"amount": 1, "reason": "r", "confirm": True}):
        answer = caller.invoke(_adder(counter), arguments)
        assert answer.document["error"]["code"] == "WRITE_NOT_ALLOWED"
    assert counter.value == 0


def test_a_path_outside_the_project_is_refused(tmp_path: Path) -> None:
    context = ToolContext(project_root=tmp_path)
    (tmp_path / "inside.yaml").write_text("x")
    assert context.path("inside.yaml") == (tmp_path / "inside.yaml").resolve()
    (tmp_path / "link").symlink_to("/etc")
    for name in ("../outside.yaml", "/etc/passwd", "link/passwd", "", "a\x00b"):
        with pytest.raises(UsageError) as raised:
            context.path(name)
        assert raised.value.code == "PATH_OUTSIDE_PROJECT"
