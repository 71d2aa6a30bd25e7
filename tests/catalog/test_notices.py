"""In-app notices (catalog.notices): a draft submitted tells the approvers, its decision tells the submitter (with the
reason of a rejection), a change to a watched entity tells its watchers; read marks; catch-up on read."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.accounts import Accounts
from catalog.drafts import Drafts
from catalog.errors import NotFound, PermissionDenied
from catalog.notices import BOXES, Notices, catch_up, start
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store import open_store

EDITOR = Principal("editor-skhcn", "editor", "organization:hcm-skhcn")
ARCHITECT = Principal("architect", "architect")
ADMIN = Principal("admin", "admin")
AUDITOR = Principal("auditor", "auditor")


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'c.db'}", create=True)
    svc = CatalogService(s)
    svc.register(
        {
            "kind": "organization",
            "code": "hcm-skhcn",
            "name": {"vi": "Sở Khoa học và Công nghệ", "en": "Department of Science and Technology"},
            "attributes": {"org_type": "department"},
        }
    )
    svc.register(
        {
            "kind": "system",
            "code": "hcm-khcn-1",
            "name": {"vi": "Hệ thống quản lý đề tài", "en": "Research project system"},
            "owner": "organization:hcm-skhcn",
            "attributes": {"lifecycle": "production"},
        }
    )
    accounts = Accounts(s)
    for p in (EDITOR, ARCHITECT, ADMIN, AUDITOR):
        accounts.add_user(p.name, p.role, p.org)
    start(s)  # notices begin here
    yield s
    s.close()


def test_submitted_draft_tells_every_approver_and_the_rejection_tells_the_editor_why(store) -> None:
    d = Drafts(store, EDITOR).submit("system:hcm-khcn-1", {"attributes": {"vendor": "VNPT"}}, 1, note="nhà cung cấp")
    for approver in (ARCHITECT, ADMIN):
        [n] = Notices(store, approver).list()
        assert (n.type, n.ref, n.draft, n.actor, n.read) == (
            "draft.submitted",
            "system:hcm-khcn-1",
            d.id,
            EDITOR.name,
            False,
        )
        assert n.sentence("vi") == "editor-skhcn đã gửi đề xuất thay đổi «Hệ thống quản lý đề tài» chờ duyệt"
        assert n.sentence("en") == "editor-skhcn submitted a change to “Research project system” for approval"
    assert Notices(store, AUDITOR).list() == [] and Notices(store, EDITOR).list() == []

    Drafts(store, ARCHITECT).reject(d.id, d.version, "Thiếu quyết định phê duyệt")
    editor = Notices(store, EDITOR)
    [n] = editor.list()
    assert (n.type, n.actor, n.reason) == ("draft.rejected", "architect", "Thiếu quyết định phê duyệt")
    assert "Thiếu quyết định phê duyệt" in n.sentence("vi") and "Thiếu quyết định phê duyệt" in n.sentence("en")
    assert editor.unread() == 1
    assert editor.mark_read() == 1 and editor.unread() == 0 and editor.list()[0].read


def test_approved_draft_tells_the_submitter(store) -> None:
    d = Drafts(store, EDITOR).submit("system:hcm-khcn-1", {"attributes": {"vendor": "FPT"}}, 1)
    Drafts(store, ARCHITECT).approve(d.id, d.version)
    [n] = Notices(store, EDITOR).list()
    assert (n.type, n.actor, n.draft) == ("draft.approved", "architect", d.id)
    assert n.sentence("en") == "architect approved your proposed change to “Research project system”"


def test_watchers_hear_of_changes_to_what_they_watch_but_not_of_their_own(store) -> None:
    auditor = Notices(store, AUDITOR)
    auditor.watch("system:hcm-khcn-1")
    assert auditor.watching("system:hcm-khcn-1")
    Notices(store, EDITOR).watch("system:hcm-khcn-1")
    svc = CatalogService(store, EDITOR)
    e = svc.patch("system:hcm-khcn-1", {"attributes": {"vendor": "Viettel"}}, 1)
    CatalogService(store, ARCHITECT).patch("system:hcm-khcn-1", {"attributes": {"vendor": "CMC"}}, e.version)
    notices = Notices(store, AUDITOR).list()
    assert [(n.type, n.actor) for n in notices] == [("entity.updated", "architect"), ("entity.updated", "editor-skhcn")]
    assert [(n.type, n.actor) for n in Notices(store, EDITOR).list()] == [("entity.updated", "architect")]
    assert notices[0].sentence("vi") == "architect đã cập nhật «Hệ thống quản lý đề tài»: Đơn vị phát triển"
    assert notices[0].sentence("en") == "architect updated “Research project system”: Vendor"
    auditor.unwatch("system:hcm-khcn-1")
    CatalogService(store).patch("system:hcm-khcn-1", {"attributes": {"vendor": "VNPT"}}, e.version + 1)
    assert len(Notices(store, AUDITOR).list()) == 2  # no longer watching
    with pytest.raises(NotFound):
        auditor.watch("system:no-such-thing")


def test_catch_up_is_bounded_and_resumes(store) -> None:
    Notices(store, AUDITOR).watch("system:hcm-khcn-1")
    svc = CatalogService(store)
    version = 1
    for i in range(5):
        version = svc.patch("system:hcm-khcn-1", {"attributes": {"vendor": f"V{i}"}}, version).version
    assert catch_up(store, batch=2) == 2  # two entries per call
    assert len(store.get_record(BOXES, AUDITOR.name).data["items"]) == 2
    assert Notices(store, AUDITOR, batch=10).unread() == 5  # a read catches up first
    assert catch_up(store) == 0  # nothing twice


def test_anonymous_has_no_notices(store) -> None:
    with pytest.raises(PermissionDenied):
        Notices(store, Principal("anonymous", "viewer"))


class Inbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) keeping every message it accepts."""

    def __init__(self, port: int):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
                from email import message_from_bytes, policy

                outer.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def __enter__(self) -> Inbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def test_notices_are_emailed_once_and_wait_while_the_smtp_server_is_down(store) -> None:
    import socket

    from catalog.notices import Mailer, mail_pass

    Accounts(store).add_user("architect2", "architect", email="kien.truc@hcm.gov.vn")
    with pytest.raises(Exception) as bad:
        Accounts(store).add_user("bad-mail", "viewer", email="not an address")
    assert bad.value.errors[0].location == "email"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mailer = Mailer("127.0.0.1", port, "ioc-catalog@hcm.gov.vn", starttls=False, timeout=2)
    start(store)
    mail_pass(store, mailer)  # the mail cursor starts at the head
    d = Drafts(store, EDITOR).submit("system:hcm-khcn-1", {"attributes": {"vendor": "VNPT"}}, 1)
    with pytest.raises(OSError):  # nothing listens: the events wait
        mail_pass(store, mailer)
    with Inbox(port) as inbox:
        assert mail_pass(store, mailer) == 1
        assert mail_pass(store, mailer) == 0  # not twice
        Drafts(store, ARCHITECT).reject(d.id, d.version, "Thiếu hồ sơ")
        assert mail_pass(store, mailer) == 0  # the editor has no address: in-app only
    [(to, m)] = inbox.messages
    assert to == ["kien.truc@hcm.gov.vn"] and m["From"] == "ioc-catalog@hcm.gov.vn"
    assert m["Subject"] == "ioc-catalog: editor-skhcn đã gửi đề xuất thay đổi «Hệ thống quản lý đề tài» chờ duyệt"
    assert m["X-IOC-Event"] == "draft.submitted" and "system:hcm-khcn-1" in m.get_content()


def test_a_change_set_draft_names_the_system_it_would_create(store) -> None:
    from catalog.changeset import Change

    new = "system:hcm-khcn-moi"
    changes = [
        Change(
            "create",
            new,
            {
                "kind": "system",
                "code": "hcm-khcn-moi",
                "name": {"vi": "Cổng dữ liệu khoa học", "en": "Science data portal"},
                "owner": "organization:hcm-skhcn",
                "attributes": {"lifecycle": "planned"},
            },
        ),
    ]
    d = Drafts(store, EDITOR).submit_changes(changes, note="hệ thống mới")
    [n] = Notices(store, ARCHITECT).list()
    assert (n.type, n.ref, n.draft) == ("draft.submitted", new, d.id)
    assert n.sentence("en") == "editor-skhcn submitted a change to “Science data portal” for approval"


def test_the_background_worker_goes_on_without_pausing_while_behind(store) -> None:
    import time
    from types import SimpleNamespace

    from catalog.notices import Worker

    Notices(store, AUDITOR).watch("system:hcm-khcn-1")
    svc, version = CatalogService(store), 1
    for i in range(3):
        version = svc.patch("system:hcm-khcn-1", {"attributes": {"vendor": f"V{i}"}}, version).version
    settings = SimpleNamespace(  # one entry per pass, an hour between passes when caught up
        notify_batch=1, notices_keep=200, notify_interval_seconds=3600, smtp_host=None, **WEBHOOK_DEFAULTS
    )
    worker = Worker(store, settings).start()
    try:
        deadline = time.monotonic() + 30  # ends a wait that would otherwise last three hours
        while Notices(store, AUDITOR, catch=False).unread() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert Notices(store, AUDITOR, catch=False).unread() == 3


WEBHOOK_DEFAULTS = {
    "webhook_attempts": 8,
    "webhook_base_delay_seconds": 10,
    "webhook_max_delay_seconds": 3600,
    "webhook_timeout_seconds": 10,
    "webhook_log_keep": 10_000,
}
