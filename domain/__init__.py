"""What HolaOlas does for a provider, without HTTP or HTML: tables, encryption, queries."""
