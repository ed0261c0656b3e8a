"""Two sweeps at once (beat overlapping `manage.py sweep`, two beat hosts) still open one task per
problem: threads with their own connections, and real `manage.py sweep` processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from care.models import CareTask
from care.services import find_problems, open_care_task, sweep_care
from customers.models import ShipmentStatus
from tests import factories
from tests.helpers.servers import ROOT, server_env
from tickets.models import Ticket, TicketType

pytestmark = pytest.mark.django_db(transaction=True)


def _late_shipments(count: int) -> list:
    return [
        factories.ShipmentFactory(
            status=ShipmentStatus.IN_TRANSIT,
            promised_by=timezone.now() - timedelta(hours=2),
            last_scan_at=timezone.now() - timedelta(hours=1),
        )
        for _ in range(count)
    ]


def _in_threads(target, count: int = 2) -> list[object]:
    """Run `target` in `count` threads released together; each thread has its own connection."""
    barrier = threading.Barrier(count)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_concurrent_sweeps_open_one_task_per_late_shipment(cast):
    shipments = _late_shipments(5)

    opened = _in_threads(sweep_care)

    assert sum(opened) == 5  # type: ignore[arg-type]
    keys = sorted(Ticket.objects.filter(type=TicketType.CARE).values_list("care_key", flat=True))
    assert keys == sorted(f"shipment:{s.pk}" for s in shipments)
    assert CareTask.objects.count() == 5


def test_two_sweeps_racing_on_the_same_problem_insert_it_once(cast):
    """Both have already seen the problem as new; the unique care_key lets one of them insert."""
    _late_shipments(1)
    [problem] = find_problems()

    outcomes = _in_threads(lambda: open_care_task(problem))

    assert sorted(o is None for o in outcomes) == [False, True]
    assert Ticket.objects.filter(care_key=problem.key).count() == 1
    assert CareTask.objects.count() == 1


def test_two_manage_py_sweep_processes_open_one_task_per_problem(cast, tmp_path):
    shipments = _late_shipments(3)
    env = server_env({"SUPPORTDESK_CELERY_EAGER": "true"})
    command = [sys.executable, "manage.py", "sweep"]

    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    care_lines = [line for out in outputs for line in out.splitlines() if line.startswith("care: ")]
    assert sum(int(line.split()[1]) for line in care_lines) == 3, outputs
    keys = sorted(Ticket.objects.filter(type=TicketType.CARE).values_list("care_key", flat=True))
    assert keys == sorted(f"shipment:{s.pk}" for s in shipments)
