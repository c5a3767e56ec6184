// GENERATED — DO NOT EDIT. Regenerate with: scripts/generate-nethsm-api-types.sh
// Source: Nitrokey/nethsm v4.0 (commit 316d24903531b53124dfca08bf56882a98ebb2de)
// docs/nethsm-api.yaml, EUPL-1.2, read from ../shared/reference/data/nethsm-api.yaml.
// Produced by openapi-typescript (pinned in package.json) and formatted by prettier;
// test/unit/devices/nethsm/api-types-drift.test.ts fails when this file and the YAML disagree.

export interface paths {
  '/info': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Information about the vendor and product. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['InfoData'];
          };
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/health/alive': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * @description Retrieve whether NetHSM is fully started but not ready to take traffic.
     *     This corresponds to the state *Locked* or *Unprovisioned*.
     */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description NetHSM is fully started and in state *Locked* or *Unprovisioned*. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description NetHSM is not in state *Locked* or *Unprovisioned*. */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/health/ready': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Retrieve whether NetHSM is in state *Operational* and thus ready to take traffic. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description NetHSM is in state *Operational*. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description NetHSM is not in state *Operational*. */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/health/state': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Retrieve the state of NetHSM. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['HealthStateData'];
          };
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/metrics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * @description Get metrics.
     *     Precondition: NetHSM is *Operational* and a **R-Metrics** can be authenticated.
     */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['MetricsData'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/provision': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * @description Initial provisioning, only available in *Unprovisioned* state.
     *
     *     *WARNING:* The unlock passphrase can't be reset by an admin user without
     *     knowing the current value, so if the unlock passphrase is lost, neither
     *     can it be reset to a new value nor can the NetHSM be unlocked.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['ProvisionRequestData'];
        };
      };
      responses: {
        /** @description Provisioning was successful, NetHSM is *Operational* now. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Malformed request data (e.g. malformed time, weak passphrase). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Unprovisioned*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/unlock': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Brings a *Locked* NetHSM into *Operational* state. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['UnlockRequestData'];
        };
      };
      responses: {
        /** @description Unlock was successful, NetHSM is *Operational* now. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request (invalid passphrase). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Unlock failed (access denied). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Locked*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/lock': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Brings an *Operational* NetHSM into *Locked* state. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Lock was successful, NetHSM is *Locked* now. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Lock failed (access denied, e.g. user is in a namespace). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/random': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * @description Retrieve cryptographically strong random bytes from NetHSM.
     *     Precondition: NetHSM is *Operational* and a **R-Operator** can be authenticated.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['RandomRequestData'];
        };
      };
      responses: {
        /** @description Successful request for *length* random bytes. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['RandomData'];
          };
        };
        /** @description Bad request (invalid length). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * @description Get a list of the identifiers of all keys that are currently stored in NetHSM.
     *     If the caller is in a namespace, only keys in that namespace are returned.
     *     Separate requests need to be made to request the individual key data.
     *     To fetch only a subset of keys, consider using `/keys/pfx*`.
     */
    get: {
      parameters: {
        query?: {
          /** @description Only return keys that can be used by the requester, according to restrictions, if this parameter is set to any value. */
          filter?: string;
        };
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful request for the list of keys. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['KeyList'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    /**
     * @description Import a private key into NetHSM and let NetHSM generate a KeyID.
     *     The public key will be automatically derived.
     *     The parameters of the key can be passed as a PEM file or a JSON object.
     *     The key is stored in the caller's namespace.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['PrivateKey'];
          'multipart/form-data': components['schemas']['PrivateKeyPem'];
        };
      };
      responses: {
        /**
         * @description Successful import of a private key.
         *     The response contains a Location header,
         *     e.g. "https://nethsm.local/v1/keys/I8mhHYJ1T3uk2lXrwXehVaw9KZzg7K".
         */
        201: {
          headers: {
            /** @description Where to find the newly added key. */
            location?: string;
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['CreateResourceId'];
          };
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/generate': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * @description Generate a pair of public and private key and store it in NetHSM.
     *     KeyID is optional as a parameter and will be generated by NetHSM if not present.
     *     The key is stored in the caller's namespace.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['KeyGenerateRequestData'];
        };
      };
      responses: {
        /**
         * @description Successful creation of new public and private key pair.
         *     Set Location header to the new KeyID.
         */
        201: {
          headers: {
            /** @description Where to find the newly added key. */
            location?: string;
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['CreateResourceId'];
          };
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyPrefix}*': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyPrefix: components['schemas']['ID'];
      };
      cookie?: never;
    };
    /**
     * @description Get a list of the identifiers of all keys that have a KeyID that starts
     *     with KeyPrefix.
     *     If the caller is in a namespace, only keys in that namespace are returned.
     *     Separate requests need to be made to request the individual key data.
     */
    get: {
      parameters: {
        query?: {
          /** @description Only return keys that are can be used by the requester, according to restrictions. */
          filter?: string;
        };
        header?: never;
        path: {
          KeyPrefix: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful request for the list of keys. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['KeyList'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    /** @description Retrieve a single public key. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /**
         * @description For response body with content type `application/json`:
         *     * *RSA* keys include `modulus` and `publicExponent` properties.
         *     * P* keys include the common format (0x04 followed by big-endian \
         *       encoded affine coordinates x and y).
         *     * Curve25519 keys are 32 byte, and follow the RFC8032 5.1.2 encoding \
         *       (little endian, x over y).
         */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['PublicKey'];
          };
        };
        /** @description Invalid character in the KeyID. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /**
     * @description Import a private key into NetHSM and store it under the *KeyID* path.
     *     The public key will be automatically derived.
     *     The parameters of the key can be passed as a PEM file or a JSON object.
     *     The key is stored in the caller's namespace.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      /**
       * @description For request body with content type `application/json`:
       *     * *RSA* includes `primeP`, `primeQ`, and `publicExponent` properties.
       *       The remaining properties `privateExponent`, `modulus`, ..) are computed.
       *     * *EC_P256*, *EC_P384*, *EC_P521* uses the `data` property.
       *       Keys are the raw (big endian) scalar.
       *     * *Curve25519* uses the `data` property.
       *       Keys are the raw (little endian) key.
       */
      requestBody: {
        content: {
          'application/json': components['schemas']['PrivateKey'];
          'multipart/form-data': components['schemas']['PrivateKeyPem'];
        };
      };
      responses: {
        /** @description Successful import of a private key. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Conflict, key already exists for this keyID. */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    /** @description Delete a pair of public and private key. */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Key was successfully deleted. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/public.pem': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    /** @description Retrieve public key in PEM format. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /**
         * @description For response body with content type `application/x-pem-file`:
         *     * Returns the PEM encoded public key, as specified in PKCS #8.
         */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/x-pem-file': components['schemas']['PemPublicKey'];
          };
        };
        /** @description Invalid character in the KeyID. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/csr.pem': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Retrieve a certificate signing request in PEM format. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['DistinguishedName'];
        };
      };
      responses: {
        /** @description Successful generation of certificate signing request. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/x-pem-file': components['schemas']['PemCSR'];
          };
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/decrypt': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Decrypt an encrypted message with the secret key. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      /**
       * @description For request body with content type `application/json`:
       *     * Mode `RAW` expects raw binary data.
       *     * Mode `PKCS1` expects PKCS1-encoded and padded binary data.
       *     * Mode `OAEP_*` expects EME-OAEP-encoded and padded binary data.
       */
      requestBody: {
        content: {
          'application/json': components['schemas']['DecryptRequestData'];
        };
      };
      responses: {
        /**
         * @description For response body with content type `application/json`:
         *     * Mode `RAW` returns the raw binary data.
         *     * Mode `PKCS1` returns the raw binary data.
         *     * Mode `OAEP_*` returns the raw binary data.
         */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['DecryptData'];
          };
        };
        /**
         * @description Bad Request, e.g. invalid encryption mode.
         *     * Mode `RAW` returns failure if input is bigger than key size.
         *     * Mode `PKCS1` returns failure if input is bigger than key size.
         *     * Mode `OAEP_*` returns failure is input is bigger than key size.
         */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/encrypt': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Encrypt a message with the secret key. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['EncryptRequestData'];
        };
      };
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['EncryptData'];
          };
        };
        /** @description Bad Request, e.g. invalid mechanism. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/sign': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Sign a message with the secret key. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      /**
       * @description For request body with content type `application/json`:
       *     * Mode `PKCS1` expects the already hashed data.
       *     * Mode `PSS_*` expects the already hashed data.
       *     * Mode `EdDSA` expects any message
       *       (ED25519 applies the SHA512 hash internally,
       *       also to derive the nonce).
       *     * Mode `ECDSA` expects the hashed data
       *       (using SHA256 for P256,
       *       SHA384 for P384 and SHA512 for P521).
       *     * Mode `BIP340` expects any message
       *       (BIP-340 applies the tagged SHA256 hash internally).
       */
      requestBody: {
        content: {
          'application/json': components['schemas']['SignRequestData'];
        };
      };
      responses: {
        /**
         * @description For response body with content type `application/json`:
         *     * Mode `PKCS1` returns the PKCS1 padded signature
         *       NOTE: in order to create EMSA-PKCS1-v1_5 compliant signatures the
         *       to be signed hash must be prepended with the according DigestInfo
         *       header. See RFC 3447, section 9.2, note 1.
         *     * Mode `PSS_*` returns the EMSA-PSS encoded signature.
         *     * Mode `EdDSA` returns the RFC 8032 (5.1.6) encoding:
         *       r appened with s, in total 64 bytes (each 32 bytes).
         *     * Mode `ECDSA` returns the ASN.1 DER encoded signature
         *       (a SEQUENCE of INTEGER r INTEGER s).
         *     * Mode `BIP340` returns the BIP-340 encoded signature:
         *       r appened with s, in total 64 bytes (each 32 bytes).
         */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['SignData'];
          };
        };
        /**
         * @description Bad Request, e.g. invalid signing mode.
         *     * Mode `PKCS1` returns failure if input is bigger than key size
         *     * Mode `PSS_*` returns failure if the input is not the hash length,
         *       or the private key is smaller than hash length.
         *     * Mode `ECDSA` returns failure if the input exceeds the group size in bits.
         *       The hash algorithm is not part of the encoding.
         */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/cert': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    /** @description Retrieve a stored certificate in the exact format it was stored. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/octet-stream': string;
          };
        };
        /** @description Invalid character in the KeyID. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content-Type in Accept header is not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /**
     * @description Store a certificate.
     *     Maximum size 1MB.
     *     The Content-Type must be application/octet-stream.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/octet-stream': string;
        };
      };
      responses: {
        /** @description Successful import of a certificate. */
        201: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Conflict, certificate already exists for this KeyID. */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    /** @description Delete the certificate. */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful deletion of a certificate. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/move': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * @description Move a key by changing its identifier. The key content remains unchanged,
     *     but it will be accessible under the new identifier. The old identifier
     *     becomes invalid after successful move.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['MoveKeyRequest'];
        };
      };
      responses: {
        /** @description Key was successfully moved. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['CreateResourceId'];
          };
        };
        /** @description Bad request (invalid JSON or empty newId). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (Administrator role required). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description A key with the new ID already exists. */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/keys/{KeyID}/restrictions/tags/{Tag}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        Tag: string;
        KeyID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    /** @description Add a tag to the authorized set */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          Tag: string;
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful addition of the tag. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Tag is already present for this key. */
        304: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request, tag format is invalid. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    /** @description Delete a tag from the authorized set */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          Tag: string;
          KeyID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful deletion of the tag. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Key for KeyID not found in namespace. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/cluster/join': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * @description Attempt to join an existing NetHSM cluster i.e. **wipe all user data** and use the cluster data instead. This does **not** merge data on this node to cluster data.
     *     'POST /cluster/members' *MUST* have been called on an existing member of the cluster beforehand. The data returned by that call must be passed here along with the backup passphrase *of the node that registered the new member*.
     *     On success, the node will end up in a *Locked* stated, unlockable with the unlock passphrase *of the node that registered the new member*. All device-specific configuration will be preserved from before the join.
     *     On immediate failure (e.g. if the cluster is not reachable), the NetHSM will attempt to reverse the join. **WARNING**. Existing data will be definitely wiped after a first successful connection to the cluster. Be sure to backup anything important.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['ClusterJoinReq'];
        };
      };
      responses: {
        /** @description Join successful. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Precondition failed. NetHSM was not *Operational* or no cluster CA
         *     was set before.
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/cluster/members': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description List members of the cluster this node belongs to. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ClusterMemberList'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    /**
     * @description Declare a new member to the cluster. The response of this call must
     *     be passed to a call to '/cluster/join' on the new member to finalize the join,
     *     along with the backup passphrase.
     *     A backup key must be configured prior to this call.
     *
     *     *WARNING*: adding a member will change the quorum needed for the cluster
     *     to operate. If the quorum is not met anymore (e.g. when adding a second node)
     *     to a one-node cluster, the cluster (and hence the HSM) will cease to operate until
     *     that new member actually joins. If it doesn't, the NetHSM is lost and must be factory reset.
     *     Make sure to backup before this operation.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['ClusterAddReq'];
        };
      };
      responses: {
        /** @description New member successfully declared to the cluster. */
        201: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ClusterMemberAddResponse'];
          };
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Precondition failed. NetHSM was not *Operational* or a backup key
         *     has not been configured before.
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/cluster/members/{MemberID}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        MemberID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    /**
     * @description Update the peer URLs of a cluster member (i.e. how others can reach it).
     *
     *     *WARNING*: misconfiguring this may lead to the member not being reachable anymore. If this makes the cluster
     *     lose quorum, the cluster will cease to operate, in which case the NetHSM is lost and must be factory reset.
     *     Make sure to backup before this operation.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          MemberID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['ClusterAddReq'];
        };
      };
      responses: {
        /** @description Member successfully updated. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Cluster member not found. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    /**
     * @description Irreversibly remove a member from the cluster. The member in question
     *     (even if it is ourself) will become inoperable and should be immediately
     *     factory reset. It cannot be added back to the cluster without going
     *     through a fresh join process.
     *
     *     *WARNING*: this MUST be called before resetting or otherwise isolating a
     *     member from the cluster. Not doing this may lead the cluster to lose
     *     quorum and cease to operate. Make sure to backup before this
     *     operation.
     *
     *     If a member has failed and the cluster is still operable (it still has
     *     quorum), this method MUST be called to remove voting power to the failed
     *     node (if there is no hope that the member becomes available again).
     */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          MemberID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Member successfully removed from cluster. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Cluster member not found. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/namespaces': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * @description Get a list of all created namespaces. Note that users may be assigned namespaces
     *     not present in this list, as long as the namespace has not been created.
     */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['NamespaceList'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. the caller is in a namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/namespaces/{NamespaceID}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        NamespaceID: components['schemas']['ID'];
      };
      cookie?: never;
    };
    get?: never;
    /**
     * @description Create a namespace on keyfender. All users in that namespace can now be used, and all user management
     *     power is delegated to admins in that namespace.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          NamespaceID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful creation of namespace. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Bad request (specified properties are invalid, e.g. invalid namespace name
         *     or namespace already exists).
         */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user in a namespace or not an admin). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Conflict - user already exists for this user-ID. */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    /** @description Delete a namespace. **WARNING: all keys from that namespace are deleted.** */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          NamespaceID: components['schemas']['ID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful deletion of namespace. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user in a namespace or not an admin). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Namespace not found. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * @description Get a list of all user ids that have accounts on NetHSM.
     *     If the caller is in a namespace, return only users in that namespace.
     */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['UserList'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    /**
     * @description Create a new user on NetHSM, inheriting the caller's namespace.
     *     The user-ID is generated by NetHSM.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['UserPostData'];
        };
      };
      responses: {
        /**
         * @description Successful creation of user.
         *     The response contains a Location header,
         *     e.g. "https://nethsm.local/v1/users/I8mhHYJ1T3uk2lXrwXehVaw9KZzg7K".
         */
        201: {
          headers: {
            /** @description Where to find the newly added user. */
            location?: string;
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['CreateResourceId'];
          };
        };
        /** @description Bad request (specified properties are invalid, e.g. weak passphrase). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. caller not administrator, or creating user in namespace not matching the caller's). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/{UserID}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        UserID: components['schemas']['UserID'];
      };
      cookie?: never;
    };
    /** @description Get user info: name and role. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['UserData'];
          };
        };
        /** @description Invalid character in the UserID. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user not in the same namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description User for UserID not found. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /**
     * @description Create a user on keyfender. The new user must either be in the same namespace as the caller,
     *     or be in a namespace not created yet if the caller has no namespace.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['UserPostData'];
        };
      };
      responses: {
        /** @description Successful creation of user. */
        201: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request (specified properties are invalid, e.g. weak passphrase). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. caller not administrator, or creating user in namespace not matching the caller's). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Conflict - user already exists for this user-ID. */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /**
     * @description Create a new user on NetHSM, in the namespace specified as a prefix in the path with the format 'namespace~'.
     *     For example, a POST request on "https://nethsm.local/v1/users/namespace1~" will generate a user-ID and create that
     *     user in "namespace1". The namespace prefix *must* be present: for creating users without a namespace, use a POST on "/v1/users".
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['UserPostData'];
        };
      };
      responses: {
        /**
         * @description Successful creation of user.
         *     The response contains a Location header,
         *     e.g. "https://nethsm.local/v1/users/namespace1~I8mhHYJ1T3uk2lXrwXehVaw9KZzg7K".
         */
        201: {
          headers: {
            /** @description Where to find the newly added user. */
            location?: string;
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['CreateResourceId'];
          };
        };
        /** @description Bad request (specified properties are invalid, e.g. weak passphrase). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. caller not administrator, or creating user in namespace not matching the caller's). */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /** @description Delete a user from keyfender. */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful deletion of user. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request (cannot delete yourself) */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user not in the same namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description User not found for this user-ID. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/{UserID}/passphrase': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        UserID: components['schemas']['UserID'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Update the passphrase. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
        };
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['UserPassphrasePostData'];
        };
      };
      responses: {
        /** @description Successful change of passphrase. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - weak passphrase. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user not in the same namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description User not found for this user-ID. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/{UserID}/tags': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        UserID: components['schemas']['UserID'];
      };
      cookie?: never;
    };
    /** @description Get the list of tags set to an Operator user. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['TagList'];
          };
        };
        /** @description Invalid character in the UserID. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user not in the same namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description User not found for this user-ID. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/{UserID}/tags/{Tag}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        UserID: components['schemas']['UserID'];
        Tag: string;
      };
      cookie?: never;
    };
    get?: never;
    /** @description Add a tag to the Operator user. */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
          Tag: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful addition of the tag. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Tag is already present for this UserID. */
        304: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request, tag format is invalid or user is not an operator. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user not in the same namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description UserID not found. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    /** @description Delete a tag from the Operator user */
    delete: {
      parameters: {
        query?: never;
        header?: never;
        path: {
          UserID: components['schemas']['UserID'];
          Tag: string;
        };
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful deletion of the tag. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user not in the same namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Tag or user not found. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/unlock-passphrase': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * @description Update the unlock passphrase.
     *
     *     *WARNING:* The unlock passphrase can't be reset by an admin user without
     *     knowing the current value, so if the unlock passphrase is lost, neither
     *     can it be reset to a new value nor can the NetHSM be unlocked.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['UnlockPassphraseConfig'];
        };
      };
      responses: {
        /** @description Successful change of passphrase. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - weak passphrase. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/unattended-boot': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Read unattended boot configuration: is it on or off? */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful read of unattended boot configuration. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['UnattendedBootConfig'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /** @description Configure unattended boot: switch it on or off (flip the switch). */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['UnattendedBootConfig'];
        };
      };
      responses: {
        /** @description Successful change of unattended boot mode. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - invalid status setting. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/tls/public.pem': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Get public key for NetHSMs https API. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of public key. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/x-pem-file': components['schemas']['PemPublicKey'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/tls/cert.pem': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Get certificate for NetHSMs https API. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of certificate. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/x-pem-file': components['schemas']['PemCert'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported or not present. */
        415: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /** @description Set certificate for NetHSMs https API e.g. to replace self-signed intital certificate. */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/x-pem-file': components['schemas']['PemCert'];
        };
      };
      responses: {
        /** @description Successfully set certificate. */
        201: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Certificate malformed. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Either NetHSM was not *Operational*, or "cluster-ca.pem" is set and the
         *     provided certicicate is not signed by that CA.
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/tls/csr.pem': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Get NetHSM certificate signing request e.g. to replace self-signed intital certificate. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['DistinguishedName'];
        };
      };
      responses: {
        /** @description Successful generation of certificate signing request. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/x-pem-file': components['schemas']['PemCSR'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/tls/generate': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Generate a new pair of public and private key for NetHSM's https API. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['TlsKeyGenerateRequestData'];
        };
      };
      responses: {
        /** @description Successful creation of new public and private key pair for NetHSM's https API. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request (specified properties are invalid). */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/tls/cluster-ca.pem': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Get currently set CA for cluster peer traffic (i.e. how cluster members communicate). */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of previously set CA. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/x-pem-file': components['schemas']['PemCert'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Cluster CA has never been set before. */
        404: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported or not present. */
        415: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /**
     * @description Set cluster certificate authority used for etcd peer traffic (i.e. how cluster members communicate).
     *     It is not set by default. When set, it cannot be unset (but it can be updated).
     *
     *     The NetHSM cert must be signed by this CA for this operation to succeed, it will be aborted otherwise.
     *     *Note that this is checked for this node but not for all members!*
     *     If you need to change the CA, ensure all nodes of the cluster have their cert signed by both the new and the old CA,
     *     then change the CA. Afterwards, you can update the individual certs to be signed only by the new CA.
     *
     *     When changed, the underlying etcd server is restarted with the new CA.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/x-pem-file': components['schemas']['PemCert'];
        };
      };
      responses: {
        /** @description Successfully set cluster CA. */
        201: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Certificate malformed.
         *     Check that it has the proper extensions for a CA (basicConstraint, keyUsage).
         */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Either the NetHSM was not *Operational*, or the installed TLS certificate
         *     is not signed by the given CA. Install a certificate signed by this CA first.
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/network': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * @description Get network configuration. IP address, netmask, router.
     *     If IPv6 is configured (not by default), returns its CIDR and gateway.
     */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of network configuration. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['NetworkConfigOutput'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /**
     * @description Configure IPv4 network. Optionally, an 'ipv6' field can be passed
     *     to configure IPv6 network as well (passing 'null' will disable IPv6).
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['NetworkConfigInput'];
        };
      };
      responses: {
        /** @description Succesful update of network configuration. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - invalid input format. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/logging': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * @description Get logging configuration.
     *     Protocol is always syslog over UDP.
     *     Configurable are IP (v4 or v6) adress and port, log level.
     */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of logging configuration. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['LoggingConfig'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /** @description Configure log level and destination. */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['LoggingConfig'];
        };
      };
      responses: {
        /** @description Succesful update of logging configuration. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - invalid input format. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/backup-passphrase': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * @description Update the backup passphrase. If the backup passphrase is not set yet,
     *     use "" as currentPassphrase.
     *
     *     *WARNING:* Like the unlock passphrase, this configuration can't be reset
     *     by an admin user without knowing the current value, so if the backup
     *     passphrase is lost, neither can it be reset to a new value nor can the
     *     created backups be restored.
     */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['BackupPassphraseConfig'];
        };
      };
      responses: {
        /** @description Successful change of passphrase. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - weak passphrase. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/config/time': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Get system time. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of system time. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['TimeConfig'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    /** @description Configure system time. */
    put: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/json': components['schemas']['TimeConfig'];
        };
      };
      responses: {
        /** @description Succesful update of system time. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - invalid input format. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/info': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** @description Get detailed system information, including firmware, system, and hardware version. */
    get: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of system information. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['SystemInfo'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied. */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/reboot': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Reboot NetHSM. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description About to reboot NetHSM. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/shutdown': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * @description Shut down NetHSM.
     *
     *     Authentication behavior varies by NetHSM state:
     *     - **Operational**: Requires Administrator authentication
     *     - **Locked** or **Unprovisioned**: No authentication required
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description About to shut down NetHSM. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided (only in Operational state). */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace, only in Operational state) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/factory-reset': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Reset NetHSM to factory settings. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description About to reset NetHSM. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/update': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Update NetHSM software. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody: {
        content: {
          'application/octet-stream': string;
        };
      };
      responses: {
        /** @description Successfully verified update image (authenticity, integrity, and version number). */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['SystemUpdateData'];
          };
        };
        /** @description Update malformed. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Conflict - Major version downgrade is not allowed. */
        409: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Precondition failed (NetHSM was not *Operational*). */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/commit-update': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Commit update of NetHSM software. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description About to update NetHSM. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Precondition failed (NetHSM was not *Operational* or
         *     update image is not present - call `/update` first).
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/cancel-update': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Cancel update of NetHSM software. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Update successfully cancelled. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Precondition failed (NetHSM was not *Operational* or
         *     update image is not present - call `/update` first).
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/backup': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** @description Back up the key store to a backup file. */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: never;
      responses: {
        /** @description Successful retrieval of backup data. */
        200: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/octet-stream': string;
          };
        };
        /** @description Authentication required but none provided. */
        401: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Access denied (e.g. user is in namespace) */
        403: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Precondition failed (NetHSM was not *Operational* or
         *     *Backup Passphrase* was not set).
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/system/restore': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * @description Restore the key store and user store from a backup file. If NetHSM is
     *     *Unprovisioned*, then the configuration is restored.
     */
    post: {
      parameters: {
        query?: never;
        header?: never;
        path?: never;
        cookie?: never;
      };
      requestBody?: {
        content: {
          'multipart/form-data': components['schemas']['RestoreRequest'];
        };
      };
      responses: {
        /** @description Successful restore from backup data. */
        204: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /** @description Bad request - restore did not apply. */
        400: {
          headers: {
            [name: string]: unknown;
          };
          content: {
            'application/json': components['schemas']['ErrorResponse'];
          };
        };
        /** @description Content type in Accept header not supported. */
        406: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
        /**
         * @description Precondition failed (NetHSM was not *Unprovisioned* or
         *     *Operational*).
         */
        412: {
          headers: {
            [name: string]: unknown;
          };
          content?: never;
        };
      };
    };
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /**
     * @example {
     *       "P256": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEup7z8QYvkzkBuLryG1SgVQjlPhSFW3PzYn1l3uLNd+pSBxX0OBpslcbnmPFr5wSs/iP46+H8MFlEAYUkYv6uuQ==",
     *       "P384": "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEfQiurLvEmjsAmumRtIqu70HKehRo8A/nVrqQGiR8Rcr+SUujwgtQByORX5BoRtv4sZNJW4FyLGqvXCIF9IV1puob2+9Qq5oEjz4x4malLbFdyXDmQK8o2NpvcbgOr215"
     *     }
     */
    AkPub: {
      P256?: string;
      P384?: string;
    };
    /**
     * @example {
     *       "0": "0f6064779fba55b102a6ecc20498c2020deaf2aebef23716ec293b25873647f8",
     *       "2": "2b0d25a4a92b4df5205742954243db9d306a4c3277a6b6958bcbaf3d47def26f"
     *     }
     */
    Pcr: {
      0?: string;
      2?: string;
    };
    Passphrase: string;
    ID: string;
    UserID: string;
    Base64: string;
    /** @enum {string} */
    Switch: 'on' | 'off';
    /** @enum {string} */
    SystemState: 'Unprovisioned' | 'Locked' | 'Operational';
    /** @enum {string} */
    UserRole: 'Administrator' | 'Operator' | 'Metrics' | 'Backup';
    /** @enum {string} */
    LogLevel: 'debug' | 'info' | 'warning' | 'error';
    /**
     * @example {
     *       "id": "ab0d5df406ddad1075ab"
     *     }
     */
    CreateResourceId: {
      id: string;
    };
    /** @enum {string} */
    KeyType:
      | 'RSA'
      | 'Curve25519'
      | 'EC_P256'
      | 'EC_P384'
      | 'EC_P521'
      | 'EC_P256K1'
      | 'BrainpoolP256'
      | 'BrainpoolP384'
      | 'BrainpoolP512'
      | 'Generic';
    /** @enum {string} */
    TlsKeyType:
      | 'RSA'
      | 'Curve25519'
      | 'EC_P256'
      | 'EC_P384'
      | 'EC_P521'
      | 'BrainpoolP256'
      | 'BrainpoolP384'
      | 'BrainpoolP512';
    /** @enum {string} */
    KeyMechanism:
      | 'RSA_Decryption_RAW'
      | 'RSA_Decryption_PKCS1'
      | 'RSA_Decryption_OAEP_MD5'
      | 'RSA_Decryption_OAEP_SHA1'
      | 'RSA_Decryption_OAEP_SHA224'
      | 'RSA_Decryption_OAEP_SHA256'
      | 'RSA_Decryption_OAEP_SHA384'
      | 'RSA_Decryption_OAEP_SHA512'
      | 'RSA_Signature_PKCS1'
      | 'RSA_Signature_PSS_MD5'
      | 'RSA_Signature_PSS_SHA1'
      | 'RSA_Signature_PSS_SHA224'
      | 'RSA_Signature_PSS_SHA256'
      | 'RSA_Signature_PSS_SHA384'
      | 'RSA_Signature_PSS_SHA512'
      | 'EdDSA_Signature'
      | 'ECDSA_Signature'
      | 'BIP340_Signature'
      | 'AES_Encryption_CBC'
      | 'AES_Decryption_CBC';
    /** @enum {string} */
    EncryptMode: 'AES_CBC';
    /** @enum {string} */
    DecryptMode:
      | 'RAW'
      | 'PKCS1'
      | 'OAEP_MD5'
      | 'OAEP_SHA1'
      | 'OAEP_SHA224'
      | 'OAEP_SHA256'
      | 'OAEP_SHA384'
      | 'OAEP_SHA512'
      | 'AES_CBC';
    /** @enum {string} */
    SignMode:
      | 'PKCS1'
      | 'PSS_MD5'
      | 'PSS_SHA1'
      | 'PSS_SHA224'
      | 'PSS_SHA256'
      | 'PSS_SHA384'
      | 'PSS_SHA512'
      | 'EdDSA'
      | 'ECDSA'
      | 'BIP340';
    /**
     * @example [
     *       {
     *         "id": "KeyID"
     *       }
     *     ]
     */
    KeyList: components['schemas']['KeyItem'][];
    /**
     * @example {
     *       "id": "KeyID"
     *     }
     */
    KeyItem: {
      id: components['schemas']['ID'];
    };
    KeyRestrictions: {
      tags?: components['schemas']['TagList'];
    };
    /**
     * @example [
     *       {
     *         "user": "admin"
     *       },
     *       {
     *         "user": "backup"
     *       },
     *       {
     *         "user": "metrics"
     *       },
     *       {
     *         "user": "operator"
     *       }
     *     ]
     */
    UserList: components['schemas']['UserItem'][];
    UserItem: {
      user: components['schemas']['UserID'];
    };
    /**
     * @example {
     *       "urls": [
     *         "https://192.168.1.2:2380"
     *       ]
     *     }
     */
    ClusterAddReq: {
      urls: components['schemas']['PeerURLs'];
    };
    ClusterInitialMember: {
      name: string;
      urls: components['schemas']['PeerURLs'];
    };
    ClusterJoinReq: {
      members: components['schemas']['ClusterInitialMember'][];
      joinerKit: string;
      backupPassphrase: string;
    };
    ClusterMemberAddResponse: {
      members: components['schemas']['ClusterInitialMember'][];
      joinerKit: string;
    };
    /**
     * @example [
     *       {
     *         "id": "8e9e05c52164694d",
     *         "name": "default",
     *         "urls": [
     *           "https://192.168.1.1:2380"
     *         ]
     *       }
     *     ]
     */
    ClusterMemberList: components['schemas']['ClusterMember'][];
    /**
     * @example {
     *       "id": "8e9e05c52164694d",
     *       "name": "default",
     *       "urls": [
     *         "https://192.168.1.1:2380"
     *       ]
     *     }
     */
    ClusterMember: {
      id: components['schemas']['ID'];
      name: string;
      urls: components['schemas']['PeerURLs'];
    };
    PeerURL: string;
    /**
     * @example [
     *       "https://192.168.1.1:2380"
     *     ]
     */
    PeerURLs: components['schemas']['PeerURL'][];
    /**
     * @example [
     *       {
     *         "id": "namespace1"
     *       }
     *     ]
     */
    NamespaceList: components['schemas']['NamespaceItem'][];
    NamespaceItem: {
      id: components['schemas']['ID'];
    };
    /**
     * @example [
     *       "berlin",
     *       "frankfurt"
     *     ]
     */
    TagList: components['schemas']['ID'][];
    KeyMechanisms: components['schemas']['KeyMechanism'][];
    /**
     * @example {
     *       "mechanisms": [
     *         "RSA_Signature_PSS_SHA256"
     *       ],
     *       "type": "RSA",
     *       "private": {
     *         "primeP": "AOnWFZ+JrI/xOXJU04uYCZOiPVUWd6CSbVseEYrYQYxc7dVroePshz29tc+VEOUP5T0O8lXMEkjFAwjW6C9QTAsPyl6jwyOQluMRIkdN4/7BAg3HAMuGd7VmkGyYrnZWW54sLWp1JD6XJG33kF+9OSar9ETPoVyBgK5punfiUFEL",
     *         "primeQ": "ANT1kWDdP9hZoFKT49dwdM/S+3ZDnxQa7kZk9p+JKU5RaU9e8pS2GOJljHwkES1FH6CUGeIaUi81tRKe2XZhe/163sEyMcxkaaRbBbTc1v6ZDKILFKKt4eX7LAQfhL/iFlgi6pcyUM8QDrm1QeFgGz11ChM0JuQw1WwkX06lg8iv",
     *         "publicExponent": "AQAB"
     *       },
     *       "restrictions": {
     *         "tags": [
     *           "berlin"
     *         ]
     *       }
     *     }
     */
    PrivateKey: {
      mechanisms: components['schemas']['KeyMechanisms'];
      type: components['schemas']['KeyType'];
      private: components['schemas']['KeyPrivateData'];
      restrictions?: components['schemas']['KeyRestrictions'];
    };
    /**
     * @example {
     *       "arguments": {
     *         "mechanisms": [
     *           "RSA_Signature_PSS_SHA256"
     *         ],
     *         "restrictions": {
     *           "tags": [
     *             "munich"
     *           ]
     *         }
     *       },
     *       "key_file": "privatekey.pem"
     *     }
     */
    PrivateKeyPem: {
      arguments?: {
        mechanisms?: components['schemas']['KeyMechanisms'];
        restrictions?: components['schemas']['KeyRestrictions'];
      };
      key_file?: components['schemas']['PemPrivateKey'];
    };
    KeyPrivateData: {
      primeP?: components['schemas']['Base64'];
      primeQ?: components['schemas']['Base64'];
      publicExponent?: components['schemas']['Base64'];
      data?: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "mechanisms": [
     *         "RSA_Signature_PSS_SHA256"
     *       ],
     *       "type": "RSA",
     *       "restrictions": {
     *         "tags": [
     *           "berlin"
     *         ]
     *       },
     *       "public": {
     *         "modulus": "FhJQl11CiY0ifRHXeAqFh4rdSl6",
     *         "publicExponent": "FhJQl11CiY0ifRHXeAqFh4rdSl6"
     *       },
     *       "operations": 242
     *     }
     */
    PublicKey: {
      mechanisms: components['schemas']['KeyMechanisms'];
      type: components['schemas']['KeyType'];
      restrictions: components['schemas']['KeyRestrictions'];
      public?: components['schemas']['KeyPublicData'];
      operations: number;
    };
    /**
     * @description The public key data is either a *modulus* and a *publicExponent* or
     *     a *data* field. The *data* field is used for EC keys.
     *     This field is null for Generic keys.
     */
    KeyPublicData: {
      modulus?: components['schemas']['Base64'];
      publicExponent?: components['schemas']['Base64'];
      data?: components['schemas']['Base64'];
    };
    /**
     * @description Data used for creation of CSRs.
     *     If subjectAltNames is omitted, it is set to the same value as
     *     commonName. If it is set to an empty list, no SAN Extension is added.
     *     All SANs are considered DNS names, unless they start with "IP:" to signal
     *     IP names.
     * @example {
     *       "countryName": "DE",
     *       "stateOrProvinceName": "",
     *       "localityName": "Berlin",
     *       "organizationName": "Nitrokey",
     *       "organizationalUnitName": "",
     *       "commonName": "nethsm.local",
     *       "emailAddress": "info@nitrokey.com",
     *       "subjectAltNames": [
     *         "example.com",
     *         "www.example.com",
     *         "IP:192.168.1.1"
     *       ]
     *     }
     */
    DistinguishedName: {
      countryName?: string;
      stateOrProvinceName?: string;
      localityName?: string;
      organizationName?: string;
      organizationalUnitName?: string;
      commonName: string;
      emailAddress?: string;
      subjectAltNames?: string[];
    };
    /**
     * @example {
     *       "vendor": "Nitrokey GmbH",
     *       "product": "NetHSM"
     *     }
     */
    InfoData: {
      vendor: string;
      product: string;
    };
    /**
     * @example {
     *       "state": "Unprovisioned"
     *     }
     */
    HealthStateData: {
      state: components['schemas']['SystemState'];
    };
    /**
     * @example {
     *       "keyOperations": 1132412,
     *       "someOtherMetric": 2222
     *     }
     */
    MetricsData: Record<string, never>;
    /**
     * @example {
     *       "unlockPassphrase": "UnlockPassphrase",
     *       "adminPassphrase": "Administrator",
     *       "systemTime": "2018-10-30T11:20:50Z"
     *     }
     */
    ProvisionRequestData: {
      unlockPassphrase: components['schemas']['Passphrase'];
      adminPassphrase: components['schemas']['Passphrase'];
      /** Format: date-time */
      systemTime: string;
    };
    /**
     * @example {
     *       "passphrase": "UnlockPassphrase"
     *     }
     */
    UnlockRequestData: {
      passphrase: components['schemas']['Passphrase'];
    };
    /**
     * @example {
     *       "length": 5
     *     }
     */
    RandomRequestData: {
      length: number;
    };
    /**
     * @example {
     *       "random": "VGhlIHE="
     *     }
     */
    RandomData: {
      random: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "mechanisms": [
     *         "RSA_Signature_PSS_SHA256"
     *       ],
     *       "type": "RSA",
     *       "length": 2048,
     *       "id": "myKey2"
     *     }
     */
    KeyGenerateRequestData: {
      mechanisms: components['schemas']['KeyMechanisms'];
      type: components['schemas']['KeyType'];
      length?: number;
      id?: components['schemas']['ID'];
      restrictions?: components['schemas']['KeyRestrictions'];
    };
    /**
     * @example {
     *       "type": "RSA",
     *       "length": 2048
     *     }
     */
    TlsKeyGenerateRequestData: {
      type: components['schemas']['TlsKeyType'];
      length?: number;
    };
    /**
     * @example {
     *       "mode": "AES_CBC",
     *       "message": "nhrfotu32409ru0rgert45z54z099u23r03498uhtrq=",
     *       "iv": "aYlwUI4A9zL9tjs4dMAq+A=="
     *     }
     */
    EncryptRequestData: {
      mode: components['schemas']['EncryptMode'];
      message: components['schemas']['Base64'];
      iv?: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "encrypted": "HQsTMBVvk19G9wrVQXPT0sDfjIglsJyZJl+VNWVSc0s=",
     *       "iv": "aYlwUI4A9zL9tjs4dMAq+A=="
     *     }
     */
    EncryptData: {
      encrypted: components['schemas']['Base64'];
      iv: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "mode": "RAW",
     *       "encrypted": "nhrfotu32409ru0rgert45z54z099u23r03498uhtr=="
     *     }
     */
    DecryptRequestData: {
      mode: components['schemas']['DecryptMode'];
      encrypted: components['schemas']['Base64'];
      iv?: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "decrypted": "IBCS8Sc4NkG/O+kqInz7mq/+Pr+5eJUJ/QpfwMp7pPjLn02U7ggyUrxJfN97MChHGekvGEK4Q1LCJ2juHTgjxJ94/QoEAN0dWZ7x3NxjlUgw7yBm7ylldVvToum3lWOVo3wPm5ozSGxpslrqgz2Rid9+uH5ytV8//CrkMOlqlUoj0DWMYbp/sUbYDGwG8lcfvKua67AxT3X/exSKCAwBuxPBr2p3DCTHepdmZCyexL809ZvBRopOQ41ve9X1jXqKzihrCPeoCwEok06EGYhPt3/EKFoer401S0MYtz5J1BvO1cv7ITDOYUCG4Ze8aXEjtnt6MMRx4jY7IqssYO8GrA=="
     *     }
     */
    DecryptData: {
      decrypted: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "mode": "PKCS1",
     *       "message": "nhrfotu32409ru0rgert45z54z099u23r03498uhtr=="
     *     }
     */
    SignRequestData: {
      mode: components['schemas']['SignMode'];
      message: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "signature": "n4geMX1g8zcfipfcmn+XjM1ccWZULemAa0cuYoh1aXG9UhbE6f54NMp4NjboLf63SQyieJYjjV8q+/o1rFlkZCtKtHAheds+g90zdjOMmXFlXyBTKMhGOSHuleGz0c99x7Alg19KN9wB3Jj2niwweBOR/F4Qv0mdBUv+oO8uPl6vM1fS4tX/VJoCZkDnZzL8duKRNFT0SNQZ+ryLiqQMG53fEPhTplK/wK0Cco8JAYCMh9cxSzpBoCEO+9woxoBGehAjHuLxs6ed6q08W67leuibxZ8c6Q6upmwDlca/gSw0y4w1VIxxts2PORZdNsTWcr3lojcNgWXJcfAqF9/n4A=="
     *     }
     */
    SignData: {
      signature: components['schemas']['Base64'];
    };
    /**
     * @example {
     *       "realName": "Jane User",
     *       "role": "Administrator",
     *       "passphrase": "My cool passphrase"
     *     }
     */
    UserPostData: {
      realName: string;
      role: components['schemas']['UserRole'];
      passphrase: components['schemas']['Passphrase'];
    };
    /**
     * @example {
     *       "realName": "Jane User",
     *       "role": "Administrator"
     *     }
     */
    UserData: {
      realName: string;
      role: components['schemas']['UserRole'];
    };
    /**
     * @example {
     *       "passphrase": "Some cool new passphrase"
     *     }
     */
    UserPassphrasePostData: {
      passphrase: components['schemas']['Passphrase'];
    };
    /**
     * @example {
     *       "newPassphrase": "This is my new unlock passphrase",
     *       "currentPassphrase": "UnlockPassphrase"
     *     }
     */
    UnlockPassphraseConfig: {
      newPassphrase: components['schemas']['Passphrase'];
      currentPassphrase: string;
    };
    /**
     * @example {
     *       "status": "off"
     *     }
     */
    UnattendedBootConfig: {
      status: components['schemas']['Switch'];
    };
    /**
     * @example {
     *       "ipAddress": "192.168.1.1",
     *       "netmask": "255.255.255.0",
     *       "gateway": "0.0.0.0"
     *     }
     */
    NetworkConfigInput: {
      ipAddress: string;
      netmask: string;
      gateway?: string;
      ipv6?: components['schemas']['Ipv6Config'];
    };
    /**
     * @example {
     *       "ipAddress": "192.168.1.1",
     *       "netmask": "255.255.255.0",
     *       "gateway": "0.0.0.0"
     *     }
     */
    NetworkConfigOutput: {
      ipAddress: string;
      netmask: string;
      gateway: string;
      ipv6?: components['schemas']['Ipv6Config'];
    };
    /**
     * @example {
     *       "cidr": "de:ad:be:ef::42/8",
     *       "gateway": "de:ad:be:ef::1"
     *     }
     */
    Ipv6Config: {
      cidr?: string;
      gateway?: string;
    };
    /**
     * @example {
     *       "ipAddress": "0.0.0.0",
     *       "port": 514,
     *       "logLevel": "info"
     *     }
     */
    LoggingConfig: {
      ipAddress: string;
      port: number;
      logLevel: components['schemas']['LogLevel'];
    };
    /**
     * @example {
     *       "newPassphrase": "This is my new backup passphrase",
     *       "currentPassphrase": "backupPassphrase"
     *     }
     */
    BackupPassphraseConfig: {
      newPassphrase: components['schemas']['Passphrase'];
      currentPassphrase: string;
    };
    /**
     * @example {
     *       "newId": "ab0d5df406ddad1075ab"
     *     }
     */
    MoveKeyRequest: {
      newId: components['schemas']['ID'];
    };
    RestoreRequest: {
      arguments?: {
        backupPassphrase?: components['schemas']['Passphrase'];
        /** Format: date-time */
        systemTime?: string;
      };
      /** Format: binary */
      backup_file?: string;
    };
    /**
     * @example {
     *       "time": "2018-10-30T11:20:50Z"
     *     }
     */
    TimeConfig: {
      /** Format: date-time */
      time: string;
    };
    /**
     * @example {
     *       "softwareVersion": "1.7",
     *       "softwareBuild": "f3f6292",
     *       "firmwareVersion": "1.0-devel",
     *       "hardwareVersion": "prodrive-hermes-1",
     *       "deviceId": "5UMIP364R2",
     *       "akPub": {
     *         "P256": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEup7z8QYvkzkBuLryG1SgVQjlPhSFW3PzYn1l3uLNd+pSBxX0OBpslcbnmPFr5wSs/iP46+H8MFlEAYUkYv6uuQ==",
     *         "P384": "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEfQiurLvEmjsAmumRtIqu70HKehRo8A/nVrqQGiR8Rcr+SUujwgtQByORX5BoRtv4sZNJW4FyLGqvXCIF9IV1puob2+9Qq5oEjz4x4malLbFdyXDmQK8o2NpvcbgOr215"
     *       },
     *       "pcr": {
     *         "0": "0f6064779fba55b102a6ecc20498c2020deaf2aebef23716ec293b25873647f8",
     *         "2": "2b0d25a4a92b4df5205742954243db9d306a4c3277a6b6958bcbaf3d47def26f"
     *       }
     *     }
     */
    SystemInfo: {
      softwareVersion: string;
      softwareBuild: string;
      firmwareVersion: string;
      hardwareVersion: string;
      deviceId: string;
      akPub: components['schemas']['AkPub'];
      pcr: components['schemas']['Pcr'];
    };
    /**
     * @example {
     *       "releaseNotes": "Some new feature is available."
     *     }
     */
    SystemUpdateData: {
      releaseNotes: string;
    };
    /**
     * @example -----BEGIN RSA PRIVATE KEY-----
     *     MIIEpAIBAAKCAQEAseU3o1Ix2euXUi50ht/mpDYnE2J4maJrIOLmDrmz+jv20hsR
     *     vPsWnKevYZqEYmvQFNO2Mv9DB5MZfnJ3jL3Aq71Ls1wqOnW9++bZAvqvEVUtlHh0
     *     5Rz9k1Ga32/OaHHEZj+lG9PlKI8y63K+sKZLuDYiVy1/gzARjpf2hCmTyQSAvtcA
     *     07WXAqorNI8mhcbIhnrGCeKfB8HYJ1T3uk2lXrwXehVaw9KZzg7KuRO0Qnk+IfR6
     *     LZjiKiEB9malzqSx3N20vibI672bMR+fqID2oC+ovNOEdRhPlCnztaY1HsnDhJt8
     *     MDTjlVGveCElvesuSVnNVHmVugDjEYTU1KV3TwIDAQABAoIBAQClSL5QDX9p5R28
     *     apMz+XYW3oWh2h0JScHVVVvBFMNm3S3vet0ZRAV3Wcl2mxUjSN6Vazte2JKTyBWo
     *     yXvQFUGdj4x1Qk2t8VWqZYr93KKqLQTjbKPXd/8WUHzf2sbhfcqn4bxrRY4mCB6c
     *     aglIocm6hvmTHB/caN33KbQOiX7ZBbwoZG3AKgoJU3SMXnVUfQzl/xnVrWLKESqm
     *     5kL0OTGLP091jZyMhcceh54RIuaJjPU4opL0bm46DLeQE4z20GfGCcRK/CUt4bNc
     *     c0wvuOyyzGI5p7QB/HCUJqR33m9ydwDkqC4vrORDxpMaSRNerpoGA+cNHREULh2P
     *     gaPydXq5AoGBAN3xIhci5LpIVvscNjPyxD6WQq5EZx251IzTnwQ/5E/+qxfYHvwe
     *     qAuLJ2+QvNQBuNKk85jwZsfUgPR6kku9dOt3n61lnrBRgGcqWnR0j8/NbpVe1qOe
     *     WArLeijpKKnCZ6uwpE6NND398dCmm3WLZZH64+1eLT8PbX/AIzId5zyzAoGBAM0x
     *     vWEsKi4pjNMBdaawJMbHEoDmMuib4t+FkbHDkqqSe/OIkHZ9tDQuHWpzDHmb30Na
     *     KNwQSNLwu3QK64z1NcjZUJFmu0+3NxSyI/EvNA9tiGCT5iSonsz04oa51AYt+IK5
     *     7JjMjo128INrQwtRFSYHx3hoVVW06tZNE037NiD1AoGABqeNOx5bt04l9X+CDIqx
     *     4aKFu03nvZdtzQ8nTGxR/ygGnz9mpm6Q4U+5zfmL/9tRXFd/yk0i98jiWPI34rd6
     *     gvjiO8O5P1YiQHWforBAA54IO8hNLTi5MRGqxwE+q+BdVWOFeal4MIelsXjdXmfg
     *     ksDwBpT1TFe9E8CCDaWh4ksCgYAhHCiR2H2J61x04+RnHD8i8BZ1RC/sxtKp/LSQ
     *     uZ0d9vsXRe8Bn7EHRnWqqpvVt6gkBxVWxS3rE7s7s1Nk8GBYY3CTtb790vOJXGFe
     *     Vp6Q6ry50MOvIKJXMiCnWq7yvFJATd32nfNWsl2G5zTvS4sdEt5F+Jfkd4f5QoCd
     *     8a4/TQKBgQDEdY3XTibkDt80zUFIP6RRAyfM6p2grk+o08De0BBZD/1GX9V9ARNT
     *     bC3+2qXXDYGxbMWgsoqsQTREJD78+sdD3q+IfIc1m7XvuIgyLMAalm+Kd1HlUF/J
     *     7VCKjgchT0OKwmi0d52TEOiz6U35Jv4GWBstsh1KVpHYiTnwnhAwKg==
     *     -----END RSA PRIVATE KEY-----
     */
    PemPrivateKey: string;
    /**
     * @example -----BEGIN PUBLIC KEY-----
     *     MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx7ghfro+VEepYmy2V7HP
     *     n5PSRdmGzxewcpmzxTtrZ10BygbEqhPsAr4fWI9pG7iRXzeza7DMjrQptzKsfSy6
     *     dBFmSEZer+hJxuOdhBG/FX6pjwRrZpbOQxyr+aTlE3jm2XP12Cqx0wsYGIoJlWHb
     *     Gb90IAx9zpdYQgHoJZ4x5ims5vo7h3puPEyVycJH5fMBB9h+2Bxc4BxaPKMm15JR
     *     1B7ToB3g16SJY2B1t/aqNmqSBZC4HP1fCuSbBm83OgqRhdk1P6r/vqOVKrxVupDq
     *     Kkdcf/dRBiQalJ9tQbVbs9OOYfQ6n25GvJTvGtqOEuggit32tV16JXCZjnYePAvt
     *     NwIDAQAB
     *     -----END PUBLIC KEY-----
     */
    PemPublicKey: string;
    /**
     * @example -----BEGIN CERTIFICATE REQUEST-----
     *     MIIC7zCCAdcCAQAwajEVMBMGA1UEAwwMbmV0aHNtLmxvY2FsMQswCQYDVQQGEwJE
     *     RTEPMA0GA1UEBwwGQmVybGluMREwDwYDVQQKDAhOaXRyb2tleTEgMB4GCSqGSIb3
     *     DQEJARYRaW5mb0BuaXRyb2tleS5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAw
     *     ggEKAoIBAQDHuCF+uj5UR6libLZXsc+fk9JF2YbPF7BymbPFO2tnXQHKBsSqE+wC
     *     vh9Yj2kbuJFfN7NrsMyOtCm3Mqx9LLp0EWZIRl6v6EnG452EEb8VfqmPBGtmls5D
     *     HKv5pOUTeObZc/XYKrHTCxgYigmVYdsZv3QgDH3Ol1hCAeglnjHmKazm+juHem48
     *     TJXJwkfl8wEH2H7YHFzgHFo8oybXklHUHtOgHeDXpIljYHW39qo2apIFkLgc/V8K
     *     5JsGbzc6CpGF2TU/qv++o5UqvFW6kOoqR1x/91EGJBqUn21BtVuz045h9Dqfbka8
     *     lO8a2o4S6CCK3fa1XXolcJmOdh48C+03AgMBAAGgQDA+BgkqhkiG9w0BCQ4xMTAv
     *     MC0GA1UdEQQmMCSCC2V4YW1wbGUuY29tgg93d3cuZXhhbXBsZS5jb22HBMCoAQEw
     *     DQYJKoZIhvcNAQELBQADggEBABWDe7Na8w0zeVgKHEQi8CPnIm/32j/RSj5W3oWA
     *     tyWvuKNkhx80kvueGlsRO6HELj7aUG9gXz/2Q5WZBfitdFcx3H8i1cbPZEa8Uonk
     *     XNsRnOV8lqnGiBRYvkWzNVNgd03kz/f43qpe5mzBVUNSEWSB15vY5NmXBPsxpA/4
     *     KJgiPmVd7/X2vvfbzF/YVkI07fJakH8TJlEwpSzpGuWqrEPLtYG5nWlfz3XBjEZj
     *     Fr0JBLINKW4qiryTaro3wVV38Ew1ZojBh9UZ2SiH/W3bKO9AZwacjwy/mqlzIv5Q
     *     RNB95c627sR1F7zbVewmbM9LG44P3ARdHeEejOTl8WFFnV0=
     *     -----END CERTIFICATE REQUEST-----
     */
    PemCSR: string;
    /**
     * @example -----BEGIN CERTIFICATE-----
     *     MIIEvDCCAqQCCQCZ9VKHZSKydDANBgkqhkiG9w0BAQsFADAgMQ4wDAYDVQQIDAVo
     *     ZWxsbzEOMAwGA1UEBwwFaGVsbG8wHhcNMTgxMDMwMTI0MDQ3WhcNMTkxMDMwMTI0
     *     MDQ3WjAgMQ4wDAYDVQQIDAVoZWxsbzEOMAwGA1UEBwwFaGVsbG8wggIiMA0GCSqG
     *     SIb3DQEBAQUAA4ICDwAwggIKAoICAQC8WRImgeu4U6Yg5q0/SvoieQL5JwPHaCrN
     *     6Cc0mj8pnzTBu/f0QYNentcnu0EclD99kla6/gdiJnt0b/IT23o37+t2n0BvEgVQ
     *     MJxJ/BjIqSZCykq4SWHKia1OS7tJKE2Q/hgGq/RQJ0zecWKA9SuafXDt0plw0saz
     *     P8ZosFyToMYnPB54SzXj4qeD5t2L2dOamTTyziw/GJDGdwssImEDfeWyMRRyHcIa
     *     u9HNGaTxjCdBGzCR+PEX3ZHhGzl5iMlgtZUICgXMgAvFZHHEYNtyCW9ZzUB2ZKE2
     *     nMbu8hbl7GXRCdJaAqlJfKiGp/WvbmrLhCzcwqhu4UnqGXOxeEQryrkPAbiLafqb
     *     fPLHB7dr8OEGlUzp1SCHR1JxwdBVohuO2lL+O5nMD3ZVdVnh2F5Et6I9lO4w9+5n
     *     aI6pmO4oy9PsqKvUjxVnEeo1Ee1n9o/4T6fe6XBIQLPqEmy2IXynZP0eJn1Yu9SF
     *     TkTSmJ+jRiU7EMaagQrM4Ds5seVNVWKOvUjDQCV+QRZaaPcrkMoFtjLCVMhLgy7M
     *     /Dfl63qCcdVkPwdbI/apjfG8qMrez4k3qAZDYgS3fujyuq9wv7xbq2+o0Ck4Ono2
     *     mMAA6JDSZr8XwR3ac/UK1KGv+weh1fOVO+c6mSN9M+W1MtkJS+i4/Aj2yDCJzVk3
     *     GZpd5/E6WwIDAQABMA0GCSqGSIb3DQEBCwUAA4ICAQAB+8+1dk20P6R+RvDRs1mo
     *     e1CegaPH2bl9t1WVuXJIUkrIGDceVr5f19pcaNQRYwZuoQd8VQXCZUpWbo//TWxl
     *     ItS3prQgcrfcTi7gCzp1+q1bZk6H21tzESDJTXPFp019/ypdUB4Jsty7qQL73sE3
     *     nj67DH+srPCknAhfFag0dPOOjAY19IrIomtBMlvYNpb5XupEUAQFCjk6VdLVAzzl
     *     M5Swj+kmLA0OUHTF2zAwj2k+B9RAkbetu/lXLwUiiQNG00j8YP03lErxDd29m2jl
     *     NFlSn8YYsgzmihF5fUFTJXP5tS7lF4FnLNbw9pfdeVZBT1uTOcckmFv6n6edttZS
     *     FhC70hBB8tFFtemGFquZ0N7w8O7DmIYI936n283rzxyuWdi+JqOUQ0KzpGbFOP3t
     *     AOdVcx/JW8kjDdWRcRDr85M4MnkG6HEzW4uzGBtxBplL7KH0L8LX+lx6ySjIrbRD
     *     QtwBxwZGtHZJAqskO6vobzzybCKuVUaQwkPrQsK5iLA6Nn1Yxu6XmtlvoPeNIc63
     *     Pa3ix8vNFbBTtS6iBdbOPse5qgRV0DC94ocedzKw4QzQRa5REIniJ2X8hVoVAcBh
     *     3nQKyZApl2I/pZMlbZ0Cg5yxjhBaxKwci7jyoMerMMo2EdbZN87gP+2x6tKuY1MO
     *     35mqzHn+FjWq0eAtpzhO5Q==
     *     -----END CERTIFICATE-----
     */
    PemCert: string;
    /**
     * @example {
     *       "message": "that didn't work"
     *     }
     */
    ErrorResponse: {
      message?: string;
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type AkPub = components['schemas']['AkPub'];
export type Pcr = components['schemas']['Pcr'];
export type Passphrase = components['schemas']['Passphrase'];
export type ID = components['schemas']['ID'];
export type UserID = components['schemas']['UserID'];
export type Base64 = components['schemas']['Base64'];
export type Switch = components['schemas']['Switch'];
export type SystemState = components['schemas']['SystemState'];
export type UserRole = components['schemas']['UserRole'];
export type LogLevel = components['schemas']['LogLevel'];
export type CreateResourceId = components['schemas']['CreateResourceId'];
export type KeyType = components['schemas']['KeyType'];
export type TlsKeyType = components['schemas']['TlsKeyType'];
export type KeyMechanism = components['schemas']['KeyMechanism'];
export type EncryptMode = components['schemas']['EncryptMode'];
export type DecryptMode = components['schemas']['DecryptMode'];
export type SignMode = components['schemas']['SignMode'];
export type KeyList = components['schemas']['KeyList'];
export type KeyItem = components['schemas']['KeyItem'];
export type KeyRestrictions = components['schemas']['KeyRestrictions'];
export type UserList = components['schemas']['UserList'];
export type UserItem = components['schemas']['UserItem'];
export type ClusterAddReq = components['schemas']['ClusterAddReq'];
export type ClusterInitialMember = components['schemas']['ClusterInitialMember'];
export type ClusterJoinReq = components['schemas']['ClusterJoinReq'];
export type ClusterMemberAddResponse = components['schemas']['ClusterMemberAddResponse'];
export type ClusterMemberList = components['schemas']['ClusterMemberList'];
export type ClusterMember = components['schemas']['ClusterMember'];
export type PeerURL = components['schemas']['PeerURL'];
export type PeerURLs = components['schemas']['PeerURLs'];
export type NamespaceList = components['schemas']['NamespaceList'];
export type NamespaceItem = components['schemas']['NamespaceItem'];
export type TagList = components['schemas']['TagList'];
export type KeyMechanisms = components['schemas']['KeyMechanisms'];
export type PrivateKey = components['schemas']['PrivateKey'];
export type PrivateKeyPem = components['schemas']['PrivateKeyPem'];
export type KeyPrivateData = components['schemas']['KeyPrivateData'];
export type PublicKey = components['schemas']['PublicKey'];
export type KeyPublicData = components['schemas']['KeyPublicData'];
export type DistinguishedName = components['schemas']['DistinguishedName'];
export type InfoData = components['schemas']['InfoData'];
export type HealthStateData = components['schemas']['HealthStateData'];
export type MetricsData = components['schemas']['MetricsData'];
export type ProvisionRequestData = components['schemas']['ProvisionRequestData'];
export type UnlockRequestData = components['schemas']['UnlockRequestData'];
export type RandomRequestData = components['schemas']['RandomRequestData'];
export type RandomData = components['schemas']['RandomData'];
export type KeyGenerateRequestData = components['schemas']['KeyGenerateRequestData'];
export type TlsKeyGenerateRequestData = components['schemas']['TlsKeyGenerateRequestData'];
export type EncryptRequestData = components['schemas']['EncryptRequestData'];
export type EncryptData = components['schemas']['EncryptData'];
export type DecryptRequestData = components['schemas']['DecryptRequestData'];
export type DecryptData = components['schemas']['DecryptData'];
export type SignRequestData = components['schemas']['SignRequestData'];
export type SignData = components['schemas']['SignData'];
export type UserPostData = components['schemas']['UserPostData'];
export type UserData = components['schemas']['UserData'];
export type UserPassphrasePostData = components['schemas']['UserPassphrasePostData'];
export type UnlockPassphraseConfig = components['schemas']['UnlockPassphraseConfig'];
export type UnattendedBootConfig = components['schemas']['UnattendedBootConfig'];
export type NetworkConfigInput = components['schemas']['NetworkConfigInput'];
export type NetworkConfigOutput = components['schemas']['NetworkConfigOutput'];
export type Ipv6Config = components['schemas']['Ipv6Config'];
export type LoggingConfig = components['schemas']['LoggingConfig'];
export type BackupPassphraseConfig = components['schemas']['BackupPassphraseConfig'];
export type MoveKeyRequest = components['schemas']['MoveKeyRequest'];
export type RestoreRequest = components['schemas']['RestoreRequest'];
export type TimeConfig = components['schemas']['TimeConfig'];
export type SystemInfo = components['schemas']['SystemInfo'];
export type SystemUpdateData = components['schemas']['SystemUpdateData'];
export type PemPrivateKey = components['schemas']['PemPrivateKey'];
export type PemPublicKey = components['schemas']['PemPublicKey'];
export type PemCSR = components['schemas']['PemCSR'];
export type PemCert = components['schemas']['PemCert'];
export type ErrorResponse = components['schemas']['ErrorResponse'];
export type $defs = Record<string, never>;
type FlattenedDeepRequired<T> = {
  [K in keyof T]-?: FlattenedDeepRequired<
    T[K] extends unknown[] | undefined | null ? Extract<T[K], unknown[]>[number] : T[K]
  >;
};
type ReadonlyArray<T> = [Exclude<T, undefined>] extends [unknown[]]
  ? Readonly<Exclude<T, undefined>>
  : Readonly<Exclude<T, undefined>[]>;
export const switchValues: ReadonlyArray<FlattenedDeepRequired<components>['schemas']['Switch']> = [
  'on',
  'off',
];
export const systemStateValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['SystemState']
> = ['Unprovisioned', 'Locked', 'Operational'];
export const userRoleValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['UserRole']
> = ['Administrator', 'Operator', 'Metrics', 'Backup'];
export const logLevelValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['LogLevel']
> = ['debug', 'info', 'warning', 'error'];
export const keyTypeValues: ReadonlyArray<FlattenedDeepRequired<components>['schemas']['KeyType']> =
  [
    'RSA',
    'Curve25519',
    'EC_P256',
    'EC_P384',
    'EC_P521',
    'EC_P256K1',
    'BrainpoolP256',
    'BrainpoolP384',
    'BrainpoolP512',
    'Generic',
  ];
export const tlsKeyTypeValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['TlsKeyType']
> = [
  'RSA',
  'Curve25519',
  'EC_P256',
  'EC_P384',
  'EC_P521',
  'BrainpoolP256',
  'BrainpoolP384',
  'BrainpoolP512',
];
export const keyMechanismValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['KeyMechanism']
> = [
  'RSA_Decryption_RAW',
  'RSA_Decryption_PKCS1',
  'RSA_Decryption_OAEP_MD5',
  'RSA_Decryption_OAEP_SHA1',
  'RSA_Decryption_OAEP_SHA224',
  'RSA_Decryption_OAEP_SHA256',
  'RSA_Decryption_OAEP_SHA384',
  'RSA_Decryption_OAEP_SHA512',
  'RSA_Signature_PKCS1',
  'RSA_Signature_PSS_MD5',
  'RSA_Signature_PSS_SHA1',
  'RSA_Signature_PSS_SHA224',
  'RSA_Signature_PSS_SHA256',
  'RSA_Signature_PSS_SHA384',
  'RSA_Signature_PSS_SHA512',
  'EdDSA_Signature',
  'ECDSA_Signature',
  'BIP340_Signature',
  'AES_Encryption_CBC',
  'AES_Decryption_CBC',
];
export const encryptModeValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['EncryptMode']
> = ['AES_CBC'];
export const decryptModeValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['DecryptMode']
> = [
  'RAW',
  'PKCS1',
  'OAEP_MD5',
  'OAEP_SHA1',
  'OAEP_SHA224',
  'OAEP_SHA256',
  'OAEP_SHA384',
  'OAEP_SHA512',
  'AES_CBC',
];
export const signModeValues: ReadonlyArray<
  FlattenedDeepRequired<components>['schemas']['SignMode']
> = [
  'PKCS1',
  'PSS_MD5',
  'PSS_SHA1',
  'PSS_SHA224',
  'PSS_SHA256',
  'PSS_SHA384',
  'PSS_SHA512',
  'EdDSA',
  'ECDSA',
  'BIP340',
];
export type operations = Record<string, never>;
