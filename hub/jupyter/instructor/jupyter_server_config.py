# Instructors: the Formgrader panel is an <iframe> of the instructor's own server. JupyterHub >= 4.1 sends
# "frame-ancestors 'none'", which leaves that panel blank; allow framing by the hub's own origin.
# Trade-off: without JupyterHub.enable_subdomains every server shares one origin, so a page served from
# another user's server could frame this one. To avoid it, delete this file and open the formgrader in
# its own browser tab instead: https://<hub>/user/<instructor>/formgrader
c = get_config()  # noqa: F821 - provided by traitlets

c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
