"""Clerk webhook events, applied exactly once per svix message id.

The ``WebhookEvent`` row and the event's effect commit in one transaction: a replay (even a
concurrent one) hits the primary key and changes nothing. Events of one user (different svix
ids, in flight together) are serialized by the user's lock (``users.lock``), and the file-system
work follows the commit under that lock again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError

from gentrade.extensions import db
from gentrade.identity import is_valid_clerk_id
from gentrade.models import WebhookEvent
from gentrade.services import users
from gentrade.services.errors import Invalid

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


def primary_email(data: dict[str, Any]) -> str | None:
    """The primary address of a Clerk user object (or its first address)."""
    addresses = [a for a in data.get("email_addresses") or [] if isinstance(a, dict)]
    primary_id = data.get("primary_email_address_id")
    for address in addresses:
        if address.get("id") == primary_id:
            return address.get("email_address")
    return addresses[0].get("email_address") if addresses else None


def _clerk_id(data: dict[str, Any]) -> str:
    clerk_id = data.get("id")
    if not is_valid_clerk_id(clerk_id):
        raise Invalid("event data.id is not a Clerk user id", {"data": {"id": ["Not a Clerk user id."]}})
    return clerk_id


def _stage_effect(event_type: str, data: dict[str, Any]) -> Callable[[], None] | None:
    """Stage the event's database effect; return the file-system work to run after the commit."""
    if event_type in ("user.created", "user.updated"):
        clerk_id = _clerk_id(data)
        users.lock(clerk_id)
        if not users.stage_upsert(clerk_id, primary_email(data), overwrite_email=event_type == "user.updated"):
            log.info("ignored %s for deleted user %s", event_type, clerk_id)
            return None
        return lambda: users.under_lock(clerk_id, lambda: users.sync_directory(clerk_id))
    if event_type == "user.deleted":
        clerk_id = _clerk_id(data)
        users.lock(clerk_id)
        threads = users.thread_ids(clerk_id)
        users.stage_delete(clerk_id)
        return lambda: users.remove_leftovers(clerk_id, threads)
    raise LookupError(event_type)


def handle(svix_id: str, event: dict[str, Any]) -> Outcome:
    event_type = event.get("type")
    data = event.get("data")
    if not isinstance(event_type, str) or not isinstance(data, dict):
        raise Invalid("event needs a string 'type' and an object 'data'")
    db.session.add(WebhookEvent(svix_id=svix_id, type=event_type[:128]))
    try:
        db.session.flush()
        after_commit = _stage_effect(event_type, data)
        db.session.commit()
    except LookupError:
        db.session.commit()  # remember it, so a replay is a duplicate too
        log.info("ignored unknown webhook event type %s (%s)", event_type, svix_id)
        return Outcome.IGNORED
    except IntegrityError:
        db.session.rollback()
        log.info("duplicate webhook delivery %s", svix_id)
        return Outcome.DUPLICATE
    except BaseException:
        db.session.rollback()
        raise
    if after_commit is None:
        return Outcome.IGNORED
    after_commit()
    log.info("applied %s (%s)", event_type, svix_id)
    return Outcome.PROCESSED
