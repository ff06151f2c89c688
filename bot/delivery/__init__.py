"""Scheduling and delivery of the daily digests: from arXiv's announcement to each chat's acknowledged digest.

```
Scheduler (schedule.py)  one process holds the scheduler lock (a renewed lease in Redis) and ticks:
  │
  ├─ fetch tick (engine.py)    once a day per announcement (arXiv's calendar): fetch the listing, read and
  │                            match every subscriber (matching.py, off the event loop), translate the
  │                            wanted papers, save the day as ready (or pending: retried, then "none")
  │
  └─ enqueue tick (engine.py)  every chat whose local time is due and whose day is ready: one entry on
                               the delivery stream (chats waiting for a late day are released later)
        │
        ▼  Redis stream + consumer group (bot/store/delivery.py: keys and Lua scripts)
DeliveryWorker (worker.py)  in every `run` / `worker` process: read entries with a lease (renewed while
  │                         sending; a dead worker's entries are claimed by another once it lapses)
  ├─ send      the chat's digest (its matches minus papers it has seen, ranked and limited) through
  │            the platform's Sender, skipping the messages already sent
  ├─ progress  recorded after each message, so a resumed delivery continues where it stopped
  └─ finish    papers marked seen, the day recorded as delivered, the entry acknowledged (once);
               a chat that is gone is acknowledged; after too many failures the entry is moved
               to the dead letters (`arxiv-digest dead-letters --requeue`)
```
"""

from bot.delivery.engine import DailyEngine
from bot.delivery.schedule import Scheduler, process_name
from bot.delivery.worker import DeliveryWorker, OnSent, Sender, SendResult

__all__ = ["DailyEngine", "DeliveryWorker", "OnSent", "Scheduler", "SendResult", "Sender", "process_name"]
