"""The api.weather.gov client, CLI report parser, climate normals, and an NWS simulator (issue 3)."""
