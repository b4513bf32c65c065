package catalog

// Schema describes the catalog's tables and their columns as every
// store's migrations must leave them: the stored tables SELECT reads and
// the tables of the executor's own machinery (IDs, sealed values, external
// IDs, settings, the schema's version). Each store writes its migrations
// in its own SQL; TestStoresFollowTheSchema checks every registered store
// against this one description, apart from the tables a store keeps for
// its own machinery (a change feed). mz_aws_connections' option columns
// come from the option table (see OptionColumns).
func Schema() map[string][]string {
	aws := []string{"id"}
	for _, c := range OptionColumns() {
		aws = append(aws, c.Name)
	}
	return map[string][]string{
		"conncat_schema":            {"version"},
		"conncat_ids":               {"next"},
		"conncat_settings":          {"name", "value"},
		"conncat_secret_values":     {"id", "nonce", "ciphertext"},
		"conncat_external_ids":      {"connection_id", "external_id"},
		"mz_secrets":                {"id", "name", "created_at", "updated_at", "owner_id", "privileges"},
		"mz_connections":            {"id", "name", "type", "owner", "create_sql", "redacted_create_sql", "created_at", "updated_at", "owner_id", "privileges"},
		"mz_aws_connections":        append(aws, "principal", "external_id", "example_trust_policy"),
		"mz_s3_connections":         {"id", "aws_connection_id", "bucket", "prefix"},
		"mz_object_dependencies":    {"object_id", "referenced_object_id"},
		"mz_connection_validations": {"connection_id", "validated_at", "check", "status", "message"},
		"mz_audit_events":           {"id", "event_type", "object_type", "details", "user", "occurred_at"},
	}
}
