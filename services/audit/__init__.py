"""`appeal audit`: whether what every service stored agrees with the promises of the loop.

``await audit(settings)`` reads each service's database and returns an ``AuditReport``
(``report.ok``, ``report.findings``, ``report.of(Check.TIMERS)``); it raises
``AuditError`` when a database cannot be read. The rules are in ``checks``.
"""

from services.audit.checks import AuditReport, Check, Finding
from services.audit.reading import AuditError, audit

__all__ = ["AuditError", "AuditReport", "Check", "Finding", "audit"]
