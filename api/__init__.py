"""geodx web service: OGC API - Features, tables for officials, offline maps."""
