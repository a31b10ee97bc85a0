"""The web archive (`gavel web`) and the static indexes, from the same templates.

`app` is the only module of Gavel that imports aiohttp.web; `templating`, `views` and
`static_index` import nothing of it, so the bot can write the static indexes without it.
"""
