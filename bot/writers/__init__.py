"""Gavel's output writers: the minutes, logs and JSON record of a meeting, and where they go.

Entry points:

- `publish.write_meeting_files(record, output, base, *, private=False) -> PublishedFiles`:
  write all five files under a base the caller chose (the service: the base its store
  reserved, see `bot/publishing.py`); synchronous, for a worker thread. Its `url_base` is
  what the `#endmeeting` reply names.
- `publish.publish_meeting` chooses the base from the files on disk, then writes: for
  callers without a database (`gavel replay`). `publish.url_base` gives the URL base for a
  relative base.
- `render.render_all(record, base, url_prefix) -> dict[extension, text]`, and the
  renderers behind it, for tools that want the text without files.

Everything here except `publish` is pure: a `MeetingRecord` (and the relative paths it needs)
in, text out. `publish` is the one module that touches the filesystem. Nothing in this
package talks to IRC, the store or the clock.
"""
