# Installation token pasted while debugging; expires after an hour.
GITHUB_APP_TOKEN = "ghs_ILODNEzyY7dJ5yvHedm5cIcRidWR062sHRe0"
