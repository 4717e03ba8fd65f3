#!/usr/bin/env bash
pg_dump "postgres://backup:Aj5ujTGcEadgwL2TS00q@db.prod.acme.test:5432/orders" | gzip > /backups/orders.sql.gz
