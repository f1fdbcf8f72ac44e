-- One database per service: no service reads another's tables.
CREATE DATABASE registration;
CREATE DATABASE allocation;
CREATE DATABASE notification;
CREATE DATABASE gateway;
