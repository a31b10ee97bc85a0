"""The archive's pure rules: series and aliases, the search query language, the import's
reading of paths and file names. Data in, data out: no database, no files, no clock."""
