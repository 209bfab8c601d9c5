"""The app's stylesheet (the classes `ui.sources_panel`, `ui.library_html` and `ui.safe_text` write)."""

CSS = """
.la-sources h3, .la-record h3 { margin: 0 0 .4em 0; }
.la-sources { font-size: 0.95em; }
.la-question { color: var(--body-text-color-subdued); margin: 0 0 .6em 0; }
.la-src-list { padding-left: 0; list-style: none; margin: 0; }
.la-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .55em .75em; margin: 0 0 .6em 0; scroll-margin-top: 1em; }
.la-src:target { outline: 2px solid var(--color-accent); }
.la-closest-entry { opacity: .85; border-style: dashed; }
.la-n { font-weight: 700; color: var(--color-accent); margin-right: .2em; }
.la-title { font-weight: 600; }
.la-untitled { font-size: .75em; text-transform: uppercase; letter-spacing: .05em; border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 .35em; margin-right: .3em; color: var(--body-text-color-subdued); }
.la-derived { font-style: italic; font-weight: 500; }
.la-meta { color: var(--body-text-color-subdued); font-size: .9em; margin: .2em 0; }
.la-abstract summary { cursor: pointer; font-size: .85em; color: var(--body-text-color-subdued); }
.la-abstract p { margin: .3em 0 0 0; line-height: 1.45; }
mark.la-support { background: #fff1a8; color: #222; padding: 0 .1em; border-radius: 2px; }
.la-warnings { border: 1px solid #e0a000; background: rgba(255, 190, 0, .12); border-radius: 8px; padding: .5em .75em; margin: 0 0 .7em 0; }
.la-warnings ul { margin: .3em 0 0 1.1em; }
.la-abstained { font-weight: 600; }
.la-closest h4 { margin: .6em 0 .3em 0; }
.la-older { margin-top: .8em; }
.la-older summary { cursor: pointer; color: var(--body-text-color-subdued); }
.la-fields th { text-align: left; padding-right: 1em; vertical-align: top; white-space: nowrap; }
.la-ingest { list-style: none; padding-left: 0; }
.la-file { margin: .3em 0; }
.la-ok .la-status { color: #1a7f37; font-weight: 600; }
.la-warn .la-status { color: #b36b00; font-weight: 600; }
.la-bad .la-status { color: #c62828; font-weight: 600; }
.la-notice { margin: .3em 0; }
.la-error { color: #c62828; }
a.la-cite { text-decoration: none; font-weight: 600; }
.la-page { font-weight: 700; font-size: .85em; border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 .35em; }
.la-passage { margin: .35em 0; }
.la-passage blockquote, .la-suggestion blockquote { margin: .3em 0 .2em .4em; }
.la-badge { font-size: .75em; text-transform: uppercase; letter-spacing: .04em; border-radius: 4px; padding: .05em .4em; font-weight: 700; }
.la-status-supported .la-badge { background: #d8f3dc; color: #1a5e2a; }
.la-status-weak .la-badge { background: #fff1c2; color: #7a5200; }
.la-status-none .la-badge { background: #f3d8d8; color: #7a1a1a; }
.la-suggestion { border-top: 1px dashed var(--border-color-primary); padding: .35em 0 0 0; margin: .35em 0 0 0; }
#la-sources-col { max-height: 78vh; overflow-y: auto; }
.la-table-wrap { max-height: 440px; overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 8px; }
.la-table { width: 100%; border-collapse: collapse; font-size: .9em; }
.la-table th { position: sticky; top: 0; background: var(--background-fill-secondary); text-align: left; padding: .35em .5em; }
.la-table td { padding: .3em .5em; border-top: 1px solid var(--border-color-primary); vertical-align: top; }
.la-table tbody tr { cursor: pointer; }
.la-table tbody tr:hover { background: var(--background-fill-secondary); }
.la-c-id code { font-size: .85em; white-space: nowrap; }
#la-table table.la-table, #la-table table.la-table th, #la-table table.la-table td { border: none !important; }
#la-table table.la-table td { border-top: 1px solid var(--border-color-primary) !important; }
#la-record table.la-fields, #la-record table.la-fields th, #la-record table.la-fields td { border: none !important; padding: .15em .8em .15em 0; }
"""
