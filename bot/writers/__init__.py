"""Gavel's output writers: the minutes, logs and JSON record of a meeting, and where they go.

Entry points:

- `publish.publish_meeting(record, output, *, private=False) -> PublishedFiles`: choose the
  file name and write all five files; synchronous, for `asyncio.to_thread`. Its
  `url_base` is what the `#endmeeting` reply names.
- `publish.choose_base` and `publish.write_meeting_files` do the same in two steps;
  `publish.url_base` gives the URL base for a relative base.
- `render.render_all(record, base, url_prefix) -> dict[extension, text]`, and the
  renderers behind it, for tools that want the text without files.

Everything here except `publish` is pure: a `MeetingRecord` (and the relative paths it needs)
in, text out. `publish` is the one module that touches the filesystem. Nothing in this
package talks to IRC, the store or the clock.
"""
